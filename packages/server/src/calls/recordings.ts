// Call recording: every answered call (unless turned off) taps each party's audio into a frame log under the data dir.
import type { FastifyBaseLogger } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MediaService } from '../media/service.js';
import type { Tap } from '../media/tap.js';
import { FrameLogWriter } from '../recording/frame-log.js';
import type { Store } from '../store/index.js';
import type { Call } from './call.js';
import type { SessionNotifier } from './notifier.js';

interface Active {
  writer: FrameLogWriter;
  taps: Map<string, Tap | null>;
  /** Sessions already shown the recording indicator. */
  told: Set<string>;
}

export class Recordings {
  private readonly active = new Map<string, Active>();

  constructor(
    private readonly deps: { media: MediaService; store: Store; notifier: SessionNotifier; log: FastifyBaseLogger; dir: string; enabled: boolean },
  ) {
    mkdirSync(deps.dir, { recursive: true });
  }

  /** Recordings being written now. */
  get activeCount(): number {
    return this.active.size;
  }

  pathOf(callId: string): string {
    return join(this.deps.dir, `${callId}.rec`);
  }

  /** Taps every producer of the call's joined parties not yet recorded; starts the recording at the first answer. */
  sync(call: Call): void {
    if (!this.deps.enabled || !call.record || !call.answeredAt || call.state === 'ended') return;
    let rec = this.active.get(call.id);
    if (!rec) {
      rec = { writer: new FrameLogWriter(this.pathOf(call.id)), taps: new Map(), told: new Set() };
      this.active.set(call.id, rec);
      this.persist(call.stored.then(() => this.deps.store.calls.setRecordingPath(call.id, this.pathOf(call.id))));
    }
    for (const sessionId of call.joined.keys()) {
      if (!rec.told.has(sessionId)) {
        rec.told.add(sessionId);
        this.deps.notifier.notify(sessionId, 'call:recording', { callId: call.id, recording: true });
      }
      for (const producerId of this.deps.media.producersOf(sessionId, call.id)) {
        if (rec.taps.has(producerId)) continue;
        const track = rec.taps.size;
        rec.taps.set(producerId, null);
        const writer = rec.writer;
        writer.declare(track, this.deps.media.codecOf(producerId));
        this.deps.media
          .tap(producerId, (p) => writer.append(track, p.timestamp, p.payload))
          .then((tap) => {
            if (this.active.get(call.id) === rec && tap) rec.taps.set(producerId, tap);
            else tap?.close();
          })
          .catch((err: unknown) => this.deps.log.warn({ err, callId: call.id }, 'could not tap audio for recording'));
      }
    }
  }

  async stop(call: Call): Promise<void> {
    const rec = this.active.get(call.id);
    if (!rec) return;
    this.active.delete(call.id);
    for (const tap of rec.taps.values()) tap?.close();
    await rec.writer.close();
  }

  private persist(write: Promise<void>): void {
    write.catch((err: unknown) => this.deps.log.error({ err }, 'could not note the recording'));
  }
}
