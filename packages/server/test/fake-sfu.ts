// A fake SFU for media worker tests: one UDP socket playing a leg's mediasoup PlainTransport (or a carrier) — it keeps the RTP
// it receives and sends packets, or the caller's audio as 20 ms frames in real time.
import alawmulaw from 'alawmulaw';
import { createSocket, type Socket } from 'node:dgram';
import type { AgentCodec } from '../src/audio/agent-audio.js';
import { OpusEncoder } from '../src/audio/opus-encoder.js';
import { decodeOpusStereo, newOpusDecoder } from '../src/media/opus-decoder.js';
import { buildRtp } from '../src/media/rtp.js';

export interface Packet {
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
  /** performance.now() when it arrived. */
  at: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `samples` of a sine at `hz` (amplitude 8000), starting at sample `from`. */
export const tone = (hz: number, rate: number, samples: number, from = 0) =>
  Int16Array.from({ length: samples }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * (from + i)) / rate)));

type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/** Polls `probe` every `everyMs` until it gives something truthy; a wait that never ends fails instead of hanging. */
export async function until<T>(what: string, probe: Probe<T>, ms = 10_000, everyMs = 10): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(everyMs)) {
    const got = await probe();
    if (got) return got;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const PAYLOAD_TYPE: Record<AgentCodec, number> = { opus: 100, PCMU: 0, PCMA: 8 };

export class FakeSfu {
  readonly packets: Packet[] = [];
  private seq = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (b) =>
      this.packets.push({ pt: b[1]! & 0x7f, marker: (b[1]! & 0x80) !== 0, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: b.subarray(12), at: performance.now() }),
    );
  }

  /**
   * A socket on a free port. It lets the process exit (a test that fails before close() must not keep its file's process
   * alive) unless `keepAlive`: for a test where nothing else holds the process while it awaits a worker (workers are unref'd).
   */
  static async open({ keepAlive = false } = {}): Promise<FakeSfu> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    if (!keepAlive) socket.unref();
    return new FakeSfu(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** One datagram to `port` on 127.0.0.1; settles once the socket has sent it. */
  send(packet: Buffer, port: number): Promise<void> {
    return new Promise((r) => this.socket.send(packet, port, '127.0.0.1', () => r()));
  }

  /** The packets received that `filter` keeps, once there are at least `n` of them (2 s at most). */
  waitFor(n: number, filter: (p: Packet) => boolean = () => true): Promise<Packet[]> {
    return until(`${n} packets`, () => {
      const got = this.packets.filter(filter);
      return got.length >= n && got;
    }, 2000);
  }

  /**
   * The caller's audio (48 kHz for Opus, 8 kHz for G.711) to the leg at `port` as 20 ms RTP frames, in real time; numbered
   * on from the last frame sent unless `start` says where.
   */
  async say(codec: AgentCodec, port: number, pcm: Int16Array, opts: { ssrc?: number; start?: { seq: number; ts: number } } = {}): Promise<void> {
    const encoder = codec === 'opus' ? new OpusEncoder() : null;
    const frame = codec === 'opus' ? 960 : 160;
    const first = opts.start ?? { seq: this.seq, ts: this.seq * frame };
    const frames = Math.ceil(pcm.length / frame);
    this.seq = first.seq + frames;
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) {
      const chunk = pcm.subarray(i * frame, (i + 1) * frame);
      const payload = encoder ? encoder.encode(chunk) : Buffer.from((codec === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw).encode(chunk));
      const header = { payloadType: PAYLOAD_TYPE[codec], marker: false, seq: (first.seq + i) & 0xffff, timestamp: (first.ts + i * frame) >>> 0, ssrc: opts.ssrc ?? 0xca11e4 };
      void this.send(buildRtp(header, payload), port);
      await sleep(Math.max(0, t0 + (i + 1) * 20 - performance.now()));
    }
    encoder?.delete();
  }

  /** The agent's audio heard from packet `from` on: Opus decoded to 48 kHz mono, or G.711 at 8 kHz. */
  heard(from = 0): Int16Array {
    const packets = this.packets.slice(from);
    if (packets[0]?.pt !== 100) return Int16Array.from(packets.flatMap((p) => [...(p.pt === 0 ? alawmulaw.mulaw : alawmulaw.alaw).decode(p.payload)]));
    const decoder = newOpusDecoder();
    const pcm = Int16Array.from(packets.flatMap((p) => [...decodeOpusStereo(decoder, p.payload)!].filter((_, i) => i % 2 === 0)));
    decoder.delete();
    return pcm;
  }

  close(): void {
    this.socket.close();
  }
}
