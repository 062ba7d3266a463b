// The caller's side of a leg: RTP from the SFU (Opus or G.711, one stream per SSRC) decoded, resampled and mixed into 20 ms frames.
import alawmulaw from 'alawmulaw';
import { decodeOpusStereo, newOpusDecoder, type OpusDecoder } from '../media/opus-decoder.js';
import { seqDelta, type ParsedRtp } from '../media/rtp.js';
import { FRAME_MS } from './playback.js';
import { Resampler } from './resample.js';

const OPUS_PT = 100;
const PCMU_PT = 0;
const PCMA_PT = 8;
/** A source silent this long no longer holds the mix back; silent this long too, it is forgotten. */
const ACTIVE_MS = 60;
const FORGET_MS = 5000;
/** A source this many frames ahead of the others is mixed without waiting for them. */
const MAX_AHEAD = 3;

interface Source {
  readonly opus: OpusDecoder | null;
  resampler: Resampler | null;
  /** Packets that arrived while the resampler was being made. */
  readonly waiting: ParsedRtp[];
  /** Decoded audio at the output rate, not yet mixed. */
  samples: Int16Array;
  heardAt: number;
  /** The newest sequence number received: a packet at or behind it arrived late (reordered) or twice, and is dropped. */
  lastSeq: number;
  /** Whether the first chunk, short by the resampler's filter delay, has been padded to its length. */
  primed: boolean;
}

export class CallerAudio {
  private readonly sources = new Map<number, Source>();
  private readonly frame: number;
  private deliveredAt = performance.now();
  private closed = false;

  constructor(
    private readonly rate: number,
    /** 20 ms of the caller's audio at `rate` Hz, mono. */
    private readonly deliver: (frame: Int16Array) => void,
  ) {
    this.frame = (rate * FRAME_MS) / 1000;
  }

  /** An RTP packet from the SFU; false for a payload type that is not audio this leg understands. */
  receive(packet: ParsedRtp): boolean {
    const pt = packet.payloadType;
    if (pt !== OPUS_PT && pt !== PCMU_PT && pt !== PCMA_PT) return false;
    let source = this.sources.get(packet.ssrc);
    if (!source) {
      const created: Source = { opus: pt === OPUS_PT ? newOpusDecoder() : null, resampler: null, waiting: [packet], samples: new Int16Array(0), heardAt: performance.now(), lastSeq: packet.seq, primed: false };
      this.sources.set(packet.ssrc, created);
      void Resampler.create(pt === OPUS_PT ? 48_000 : 8000, this.rate).then((resampler) => {
        if (this.closed || this.sources.get(packet.ssrc) !== created) return resampler.destroy();
        created.resampler = resampler;
        for (const waiting of created.waiting.splice(0)) this.decode(created, waiting);
        this.mix();
      });
      return true;
    }
    source.heardAt = performance.now();
    if (seqDelta(packet.seq, source.lastSeq) <= 0) return true;
    source.lastSeq = packet.seq;
    if (!source.resampler) source.waiting.push(packet);
    else {
      this.decode(source, packet);
      this.mix();
    }
    return true;
  }

  /** Called every 20 ms: a caller who sends nothing (Opus DTX, muted) is heard as silence, so turn detection keeps time. */
  fillGap(): void {
    const now = performance.now();
    if (now - this.deliveredAt < 2.5 * FRAME_MS) return;
    this.deliveredAt = now - 2 * FRAME_MS;
    this.deliver(new Int16Array(this.frame));
    for (const [ssrc, source] of this.sources) if (now - source.heardAt > FORGET_MS) this.forget(ssrc, source);
  }

  close(): void {
    this.closed = true;
    for (const [ssrc, source] of this.sources) this.forget(ssrc, source);
  }

  private forget(ssrc: number, source: Source): void {
    source.opus?.delete();
    source.resampler?.destroy();
    this.sources.delete(ssrc);
  }

  private decode(source: Source, packet: ParsedRtp): void {
    let pcm: Int16Array;
    if (source.opus) {
      const stereo = decodeOpusStereo(source.opus, packet.payload);
      if (!stereo) return;
      pcm = new Int16Array(stereo.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = (stereo[2 * i]! + stereo[2 * i + 1]!) >> 1;
    } else pcm = (packet.payloadType === PCMU_PT ? alawmulaw.mulaw : alawmulaw.alaw).decode(packet.payload);
    const resampled = source.resampler!.process(pcm);
    const expected = source.primed ? resampled.length : Math.max(resampled.length, Math.round((pcm.length * this.rate) / (source.opus ? 48_000 : 8000)));
    source.primed = true;
    const samples = new Int16Array(source.samples.length + expected);
    samples.set(source.samples);
    samples.set(resampled, source.samples.length + expected - resampled.length);
    source.samples = samples;
  }

  /** Delivers frames while every active source has one (or one source is far ahead), summing the sources that do. */
  private mix(): void {
    for (;;) {
      const now = performance.now();
      const ready = [...this.sources.values()].filter((s) => s.samples.length >= this.frame);
      if (ready.length === 0) return;
      const waitingFor = [...this.sources.values()].some((s) => s.samples.length < this.frame && now - s.heardAt < ACTIVE_MS);
      if (waitingFor && !ready.some((s) => s.samples.length >= MAX_AHEAD * this.frame)) return;
      const out = new Int16Array(this.frame);
      for (const source of ready) {
        for (let i = 0; i < this.frame; i++) out[i] = Math.max(-32768, Math.min(32767, out[i]! + source.samples[i]!));
        source.samples = source.samples.slice(this.frame);
      }
      this.deliveredAt = now;
      this.deliver(out);
    }
  }
}
