// Renders a frame log to a standard WAV, streamed: each track decoded (Opus with opusscript via media/opus-decoder, G.711 with
// alawmulaw, raised to 48 kHz), placed on one timeline and mixed in a window of a few seconds. Runs in recording/render-worker.
import alawmulaw from 'alawmulaw';
import { decodableSamples, decodeOpusStereo, newOpusDecoder, type OpusDecoder } from '../media/opus-decoder.js';
import { readFrameLog, type Frame, type TrackCodec } from './frame-log.js';
import { WAV_HEADER_BYTES, wavHeader } from '../audio/wav.js';

/** 8 kHz G.711 → 48 kHz PCM: decoded, then linearly interpolated (×6). */
function decodeG711(payload: Buffer, codec: 'PCMU' | 'PCMA'): Int16Array {
  const narrow = (codec === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw).decode(payload);
  const wide = new Int16Array(narrow.length * 6);
  for (let i = 0; i < narrow.length; i++) {
    const a = narrow[i]!;
    const b = narrow[i + 1] ?? a;
    for (let k = 0; k < 6; k++) wide[6 * i + k] = a + ((b - a) * k) / 6;
  }
  return wide;
}

const RATE = 48_000;
/** Frames per block: the mix is final below the earliest sample any later block places. */
const BLOCK = 256;
/** Samples per streamed chunk (one second). */
const CHUNK = RATE;

interface Track {
  codec: TrackCodec;
  /** Where the first packet arrived, in samples; later packets follow the RTP clock (48 kHz for Opus, 8 kHz for G.711). */
  origin: number;
  firstTs: number;
}

/** Where a frame lands on the timeline, in samples (negative: before its track's first packet, dropped). */
function offsetOf(track: Track, frame: Frame): number {
  const ticks = (frame.rtpTimestamp - track.firstTs) | 0;
  return track.origin + (track.codec === 'opus' ? ticks : ticks * 6);
}

/** Samples a frame will add, read from its header alone. */
function samplesOf(track: Track, frame: Frame): number {
  return track.codec === 'opus' ? decodableSamples(frame.payload) : frame.payload.length * 6;
}

interface Plan {
  tracks: Map<number, Track>;
  samples: number;
  /** Byte of the log the render stops at (a live call's log keeps growing). */
  end: number;
  /** Per block of frames: the earliest sample it or any later block places. */
  finalBelow: number[];
}

/** First pass, headers only: each track's codec and start, the length of the mix, and when each part of it is final. */
function plan(path: string): Plan {
  const codecs = new Map<number, TrackCodec>();
  const firsts = new Map<number, Frame>();
  for (const entry of readFrameLog(path)) {
    if ('codec' in entry) codecs.set(entry.track, entry.codec);
    else if (!firsts.has(entry.track)) firsts.set(entry.track, entry);
  }
  const tracks = new Map<number, Track>();
  for (const [id, first] of firsts) {
    tracks.set(id, { codec: codecs.get(id) ?? 'opus', origin: Math.round((first.atMs / 1000) * RATE), firstTs: first.rtpTimestamp });
  }
  let samples = 0;
  let end = 0;
  let index = 0;
  const blockMin: number[] = [];
  for (const entry of readFrameLog(path)) {
    end = entry.end;
    if ('codec' in entry) continue;
    const track = tracks.get(entry.track)!;
    const offset = offsetOf(track, entry);
    const length = samplesOf(track, entry);
    const block = Math.floor(index++ / BLOCK);
    blockMin[block] ??= Infinity;
    if (offset < 0 || length === 0) continue;
    blockMin[block] = Math.min(blockMin[block]!, offset);
    samples = Math.max(samples, offset + length);
  }
  const finalBelow = blockMin.slice();
  for (let b = finalBelow.length - 2; b >= 0; b--) finalBelow[b] = Math.min(finalBelow[b]!, finalBelow[b + 1]!);
  return { tracks, samples, end, finalBelow };
}

/** The mix still open: samples from `base` on, summed as 32-bit and clipped to 16 bits when streamed. */
class Window {
  private mix = new Int32Array(4 * CHUNK);
  private base = 0;

  constructor(private readonly total: number) {}

  add(offset: number, pcm: Int16Array): void {
    const at = offset - this.base;
    if (at < 0) throw new Error('a frame landed before the streamed part of the mix');
    if (at + pcm.length > this.mix.length) {
      const grown = new Int32Array(Math.max(2 * this.mix.length, at + pcm.length));
      grown.set(this.mix);
      this.mix = grown;
    }
    for (let i = 0; i < pcm.length; i++) this.mix[at + i]! += pcm[i]!;
  }

  /** Whole chunks of the mix below `until` (or everything up to the end, clipped), as 16-bit little-endian WAV data. */
  *flush(until: number, all = false): Generator<Buffer> {
    const stop = Math.min(until, this.total);
    while (this.base < stop && (all || stop - this.base >= CHUNK)) {
      const n = Math.min(CHUNK, stop - this.base);
      const out = new Int16Array(n); // WAV data is little-endian, as are the platforms this runs on
      for (let i = 0; i < n; i++) out[i] = Math.max(-32768, Math.min(32767, this.mix[i]!));
      this.mix.copyWithin(0, n);
      this.mix.fill(0, this.mix.length - n);
      this.base += n;
      yield Buffer.from(out.buffer);
    }
  }
}

/** A mono 16-bit 48 kHz WAV of every track of the recording mixed: its size up front, then its bytes a second at a time. */
export function renderWav(path: string): { bytes: number; chunks: Generator<Buffer> } {
  const { tracks, samples, end, finalBelow } = plan(path);
  return { bytes: WAV_HEADER_BYTES + samples * 2, chunks: mixChunks(path, { tracks, samples, end, finalBelow }) };
}

function* mixChunks(path: string, { tracks, samples, end, finalBelow }: Plan): Generator<Buffer> {
  yield wavHeader(samples, RATE);
  const window = new Window(samples);
  const decoders = new Map<number, OpusDecoder>();
  try {
    let index = 0;
    for (const entry of readFrameLog(path, end)) {
      if ('codec' in entry) continue;
      if (index % BLOCK === 0) yield* window.flush(finalBelow[index / BLOCK]!);
      index++;
      const track = tracks.get(entry.track)!;
      const offset = offsetOf(track, entry);
      if (offset < 0) continue;
      if (track.codec !== 'opus') {
        window.add(offset, decodeG711(entry.payload, track.codec));
        continue;
      }
      const decoder = decoders.get(entry.track) ?? decoders.set(entry.track, newOpusDecoder()).get(entry.track)!;
      const pcm = decodeOpusStereo(decoder, entry.payload);
      if (!pcm) continue; // a damaged packet is a moment of silence, not a failed recording
      const mono = new Int16Array(pcm.length / 2);
      for (let i = 0; i < mono.length; i++) mono[i] = (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1;
      window.add(offset, mono);
    }
    yield* window.flush(samples, true);
  } finally {
    for (const decoder of decoders.values()) decoder.delete();
  }
}
