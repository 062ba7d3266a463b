// Prompt player: the server's own audio into a call — pre-encoded Opus or G.711 frames sent as RTP into a PlainTransport producer.
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';
import { buildRtp } from './rtp.js';

const FRAME_MS = 20;

/** Opus for widgets; G.711 for calls with a SIP leg, so nobody transcodes a prompt per call. */
export type PromptCodec = 'opus' | 'PCMU' | 'PCMA';

const FORMATS: Record<PromptCodec, { mimeType: string; payloadType: number; clockRate: number; channels: number; samplesPerFrame: number }> = {
  opus: { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, samplesPerFrame: 960 },
  PCMU: { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, channels: 1, samplesPerFrame: 160 },
  PCMA: { mimeType: 'audio/PCMA', payloadType: 8, clockRate: 8000, channels: 1, samplesPerFrame: 160 },
};

export interface Player {
  /** The producer carrying the prompt now: a new one after the player moved to another router. */
  readonly producerId: string;
  /**
   * Told after its worker died, with the producer id it had (consumers of that one are gone): it plays on through
   * `producerId` in a live router, or, with `err`, it could not and stopped.
   */
  onMoved: (previousProducerId: string, err: Error | null) => void;
  stop(): void;
}

/**
 * Plays `frames` (20 ms packets of `codec`) on a loop with `gapMs` of silence between rounds, until stopped, into a
 * PlainTransport producer of its router; `moveTo` carries on into another router (same SSRC, sequence and clock).
 */
export class PromptPlayer implements Player {
  onMoved: (previousProducerId: string, err: Error | null) => void = () => undefined;
  private readonly socket = createSocket('udp4');
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    public router: types.Router,
    private transport: types.PlainTransport,
    public producer: types.Producer,
    private readonly codec: PromptCodec,
    private readonly ssrc: number,
    frames: Buffer[],
    gapMs: number,
    private readonly onStop: () => void,
  ) {
    const { payloadType, samplesPerFrame } = FORMATS[codec];
    let seq = (Math.random() * 0xffff) >>> 0;
    let timestamp = (Math.random() * 0xffffffff) >>> 0;
    let index = 0;
    let silentFor = 0;
    this.timer = setInterval(() => {
      timestamp = (timestamp + samplesPerFrame) >>> 0;
      if (silentFor > 0) {
        silentFor -= FRAME_MS;
        return;
      }
      const packet = buildRtp({ payloadType, marker: index === 0, seq, timestamp, ssrc: this.ssrc }, frames[index]!); // marker: a round starts
      seq = (seq + 1) & 0xffff;
      this.socket.send(packet, this.transport.tuple.localPort, '127.0.0.1');
      index += 1;
      if (index === frames.length) {
        index = 0;
        silentFor = gapMs;
      }
    }, FRAME_MS);
  }

  static async start(router: types.Router, frames: Buffer[], gapMs: number, codec: PromptCodec, onStop: () => void): Promise<PromptPlayer> {
    const ssrc = (Math.random() * 0xffffffff) >>> 0;
    const { transport, producer } = await PromptPlayer.produceOn(router, codec, ssrc);
    return new PromptPlayer(router, transport, producer, codec, ssrc, frames, gapMs, onStop);
  }

  private static async produceOn(router: types.Router, codec: PromptCodec, ssrc: number): Promise<{ transport: types.PlainTransport; producer: types.Producer }> {
    const { mimeType, payloadType, clockRate, channels } = FORMATS[codec];
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    try {
      const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs: [{ mimeType, payloadType, clockRate, channels }], encodings: [{ ssrc }] } });
      return { transport, producer };
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  get producerId(): string {
    return this.producer.id;
  }

  /** Carries on into `router`: a new transport and producer there (the old router died). False when stopped meanwhile. */
  async moveTo(router: types.Router): Promise<boolean> {
    const { transport, producer } = await PromptPlayer.produceOn(router, this.codec, this.ssrc);
    if (this.stopped) {
      transport.close();
      return false;
    }
    [this.router, this.transport, this.producer] = [router, transport, producer];
    return true;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.transport.close();
    this.socket.close();
    this.onStop();
  }
}
