// Load-client media: a sine tone pre-encoded once into a 1 s loop of Opus frames, and per-receiver RTP accounting
// (packets, sequence gaps, RFC 3550 jitter, and whether the far side's tone is in what arrived).
import { OpusEncoder, OPUS_FRAME } from '../../packages/server/src/audio/opus-encoder.js';
import { decodeOpusStereo, newOpusDecoder } from '../../packages/server/src/media/opus-decoder.js';
import { tonePower } from '../../test/helpers/tone.js';
import { OPUS_CLOCK } from './webrtc-leg.js';

/** Caller and callee send different tones, so each side can tell the other's audio from its own. */
export const CALLER_HZ = 440;
export const CALLEE_HZ = 1000;
const FRAMES_PER_LOOP = 50; // 1 s: both tones complete whole cycles, so the loop is seamless
/** A tone counts as present when this share of the decoded signal's energy sits at its frequency (a pure tone: ~0.5). */
const TONE_PRESENT = 0.2;
const KEPT_PAYLOADS = 25;

/** A 1 s loop of 20 ms Opus frames of a `hz` sine (encoded here once; every call shares the buffers). */
export function toneFrames(hz: number): Buffer[] {
  const encoder = new OpusEncoder();
  const frames: Buffer[] = [];
  for (let f = 0; f < FRAMES_PER_LOOP; f++) {
    const pcm = new Int16Array(OPUS_FRAME);
    for (let i = 0; i < OPUS_FRAME; i++) pcm[i] = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * hz * (f * OPUS_FRAME + i)) / OPUS_CLOCK));
    frames.push(encoder.encode(pcm));
  }
  encoder.delete();
  return frames;
}

export interface ReceiverCounters {
  /** Packets received. */
  received: number;
  /** Packets the sequence numbers say were sent (first to highest seen). */
  expected: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
}

/** Counts one receiver's RTP. Cheap per packet: integer arithmetic and a short ring of payloads for the tone check. */
export class ReceiverStats {
  private firstSeq = -1;
  private highestSeq = -1; // extended (with wrap cycles)
  private received = 0;
  private jitter = 0; // in RTP timestamp units
  private lastTransit = NaN;
  private readonly payloads: Buffer[] = [];
  firstPacketAt = 0;

  onPacket(sequenceNumber: number, timestamp: number, payload: Buffer): void {
    const now = performance.now();
    if (this.firstSeq < 0) {
      this.firstSeq = this.highestSeq = sequenceNumber;
      this.firstPacketAt = now;
    } else {
      const cycle = this.highestSeq & ~0xffff;
      let extended = cycle | sequenceNumber;
      if (extended < this.highestSeq - 0x8000) extended += 0x10000;
      else if (extended > this.highestSeq + 0x8000) extended -= 0x10000;
      if (extended > this.highestSeq) this.highestSeq = extended;
    }
    this.received += 1;
    const transit = (now * OPUS_CLOCK) / 1000 - timestamp;
    if (!Number.isNaN(this.lastTransit)) {
      let d = Math.abs(transit - this.lastTransit);
      if (d > 0x80000000) d = Math.abs(d - 0x100000000); // timestamp wrap
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    if (this.payloads.length === KEPT_PAYLOADS) this.payloads.shift();
    this.payloads.push(payload);
  }

  counters(): ReceiverCounters {
    return {
      received: this.received,
      expected: this.firstSeq < 0 ? 0 : this.highestSeq - this.firstSeq + 1,
      jitterMs: (this.jitter / OPUS_CLOCK) * 1000,
    };
  }

  /** Whether the last packets received decode to a signal dominated by `hz`. */
  hasTone(hz: number): boolean {
    if (this.payloads.length === 0) return false;
    const decoder = newOpusDecoder();
    try {
      const mono: number[] = [];
      for (const p of this.payloads) {
        const stereo = decodeOpusStereo(decoder, p);
        if (stereo) for (let i = 0; i < stereo.length; i += 2) mono.push(stereo[i]!);
      }
      return mono.length > 0 && tonePower(mono, OPUS_CLOCK, hz) > TONE_PRESENT;
    } finally {
      decoder.delete();
    }
  }
}
