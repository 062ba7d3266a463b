// MediaBridge: makes every joined session of a call consume every other's audio (offer → widget ack → resume).
import type { FastifyBaseLogger } from 'fastify';
import type { MediaService } from '../media/service.js';
import type { Call } from './call.js';
import type { SessionNotifier } from './notifier.js';

const CONSUME_ACK_TIMEOUT_MS = 10_000;

export class MediaBridge {
  /** `sessionId:producerId` pairs being set up, so concurrent syncs never double-consume. */
  private readonly pending = new Set<string>();

  constructor(
    private readonly media: MediaService,
    private readonly notifier: SessionNotifier,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Idempotent: call after every join, new producer or media rebuild. */
  sync(call: Call): void {
    if (call.state === 'ended') return;
    const sessions = [...call.joined.keys()];
    // A session whose media is being (re)built — set up, capabilities not sent yet — is left out: they arrive in
    // `media:capabilities`, whose `mediaReady` syncs the call again.
    const receivers = sessions.filter((s) => this.media.readyToConsume(s));
    const sources: [string | null, string[]][] = sessions.map((s) => [s, this.media.producersOf(s, call.id)]);
    sources.push([null, [...call.serverProducers]]); // the server's own audio (IVR prompts) reaches everyone
    for (const s of call.earlyMedia) if (call.role(s) === 'rung') sources.push([s, this.media.producersOf(s, call.id)]);
    for (const [from, producerIds] of sources) {
      for (const producerId of producerIds) {
        for (const to of receivers) {
          if (to === from) continue;
          const key = `${to}:${producerId}`;
          if (this.pending.has(key) || this.media.consumes(to, producerId)) continue;
          this.pending.add(key);
          this.connect(call, to, producerId)
            .catch((err: unknown) => this.log.warn({ err, callId: call.id }, 'could not bridge audio'))
            .finally(() => this.pending.delete(key));
        }
      }
    }
  }

  private async connect(call: Call, sessionId: string, producerId: string): Promise<void> {
    const offer = await this.media.consume(sessionId, producerId, call.id);
    const res = await this.notifier.request(sessionId, 'media:consume', offer, CONSUME_ACK_TIMEOUT_MS);
    if (!res.ok) throw new Error(`widget refused consumer: ${res.error.message}`);
    // Someone on hold or deafened keeps the consumer paused until they come back.
    const listener = call.joined.get(sessionId);
    if (call.state !== 'ended' && listener && !listener.held && !listener.selfDeaf) await this.media.resumeConsumer(sessionId, offer.consumerId);
  }
}
