// The agent's voice on a leg: its audio cut into 20 ms frames (marks between them), sent by a steady 20 ms clock as RTP toward the SFU.
import alawmulaw from 'alawmulaw';
import { buildRtp } from '../media/rtp.js';
import type { AgentCodec } from './agent-audio.js';
import { OpusEncoder } from './opus-encoder.js';
import { Resampler } from './resample.js';

export const FRAME_MS = 20;
/** A clock this late (the thread was busy) restarts from now instead of sending a burst to catch up. */
const RESYNC_MS = 100;

type Item = Int16Array | { onPlayed: (cleared: boolean) => void };

export interface RtpTarget {
  codec: AgentCodec;
  payloadType: number;
  ssrc: number;
  send(packet: Buffer): void;
}

export class Playback {
  private readonly wireRate: number;
  private readonly frame: number;
  private readonly queue: Item[] = [];
  /** Samples at the wire rate not yet making up a whole frame. */
  private tail: Int16Array = new Int16Array(0);
  private tailAge = 0;
  private readonly opus: OpusEncoder | null;
  private seq = (Math.random() * 0xffff) >>> 0;
  private readonly ts0 = (Math.random() * 0xffffffff) >>> 0;
  private t0 = performance.now();
  private slot = 0;
  private lastSentSlot = -2;
  /** This tick's slot found nothing to send (at `slotAt`, performance.now()). */
  private hungry = false;
  private slotAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Frames sent toward the SFU. */
  sent = 0;

  private constructor(
    private readonly target: RtpTarget,
    private readonly resampler: Resampler,
    private readonly sourceRate: number,
    /** Called on every clock tick, before the frame of that tick goes out. */
    private readonly onTick: () => void,
  ) {
    this.wireRate = target.codec === 'opus' ? 48_000 : 8000;
    this.frame = (this.wireRate * FRAME_MS) / 1000;
    this.opus = target.codec === 'opus' ? new OpusEncoder() : null;
    this.schedule();
  }

  /** Playback of audio at `sourceRate` Hz; the clock starts at once. */
  static async create(target: RtpTarget, sourceRate: number, onTick: () => void): Promise<Playback> {
    const resampler = await Resampler.create(sourceRate, target.codec === 'opus' ? 48_000 : 8000);
    return new Playback(target, resampler, sourceRate, onTick);
  }

  /** Audio or marks queued, or a frame sent in the last tick. */
  get playing(): boolean {
    return this.queue.length > 0 || this.tail.length > 0 || this.lastSentSlot >= this.slot - 1;
  }

  /** Queues audio at the source rate; a frame the clock waited for in the first half of its slot goes out at once. */
  push(pcm: Int16Array): void {
    let wire = this.resampler.process(pcm);
    const expected = Math.round((pcm.length * this.wireRate) / this.sourceRate);
    if (!this.playing && wire.length < expected) {
      // A talk spurt's first chunk: make up the resampler's filter delay with silence, so frames line up with the chunks.
      const padded = new Int16Array(expected);
      padded.set(wire, expected - wire.length);
      wire = padded;
    }
    const all = new Int16Array(this.tail.length + wire.length);
    all.set(this.tail);
    all.set(wire, this.tail.length);
    let at = 0;
    for (; at + this.frame <= all.length; at += this.frame) this.queue.push(all.slice(at, at + this.frame));
    this.tail = all.slice(at);
    this.tailAge = 0;
    if (this.hungry && performance.now() - this.slotAt < FRAME_MS / 2) this.sendNext();
  }

  /** `onPlayed(false)` once all audio queued before it has been sent; `onPlayed(true)` if it is cleared first. */
  mark(onPlayed: (cleared: boolean) => void): void {
    this.flushTail();
    this.queue.push({ onPlayed });
    this.firePlayedMarks();
  }

  /** Drops all queued audio at once; pending marks fire as cleared, in order. */
  clear(): void {
    this.tail = new Int16Array(0);
    for (const item of this.queue.splice(0)) if (!(item instanceof Int16Array)) item.onPlayed(true);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.opus?.delete();
    this.resampler.destroy();
  }

  private schedule(): void {
    const delay = this.t0 + (this.slot + 1) * FRAME_MS - performance.now();
    this.timer = setTimeout(() => this.tick(), Math.max(0, delay));
  }

  private tick(): void {
    const now = performance.now();
    this.slotAt = now;
    this.slot++;
    if (now - (this.t0 + this.slot * FRAME_MS) > RESYNC_MS) this.t0 = now - this.slot * FRAME_MS;
    this.hungry = false;
    this.onTick();
    if (!this.sendNext()) {
      this.hungry = true;
      if (this.tail.length > 0 && ++this.tailAge > 1) {
        this.flushTail();
        this.sendNext();
      }
    }
    if (this.timer) this.schedule();
  }

  /** Sends the head frame in this tick's slot (at most one per slot); false if there is none. */
  private sendNext(): boolean {
    this.firePlayedMarks();
    const frame = this.queue[0];
    if (!(frame instanceof Int16Array)) return false;
    this.queue.shift();
    this.hungry = false;
    const payload = this.opus ? this.opus.encode(frame) : Buffer.from(this.target.codec === 'PCMU' ? alawmulaw.mulaw.encode(frame) : alawmulaw.alaw.encode(frame));
    const timestamp = (this.ts0 + this.slot * this.frame) >>> 0;
    const marker = this.lastSentSlot !== this.slot - 1;
    this.lastSentSlot = this.slot;
    this.target.send(buildRtp({ payloadType: this.target.payloadType, marker, seq: this.seq++, timestamp, ssrc: this.target.ssrc }, payload));
    this.sent++;
    this.firePlayedMarks();
    return true;
  }

  private firePlayedMarks(): void {
    while (this.queue.length > 0 && !(this.queue[0] instanceof Int16Array)) (this.queue.shift() as { onPlayed: (cleared: boolean) => void }).onPlayed(false);
  }

  private flushTail(): void {
    this.tailAge = 0;
    if (this.tail.length === 0) return;
    const frame = new Int16Array(this.frame);
    frame.set(this.tail);
    this.tail = new Int16Array(0);
    this.queue.push(frame);
  }
}
