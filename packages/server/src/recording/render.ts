// Renders a frame log to a standard WAV: each track decoded (Opus with opusscript via media/opus-decoder, G.711 with alawmulaw, raised to 48 kHz),
// placed on one timeline and mixed.
import alawmulaw from 'alawmulaw';
import wavefile from 'wavefile';
import { decodeOpusStereo, newOpusDecoder } from '../media/opus-decoder.js';
import { readFrameLog, type Frame } from './frame-log.js';

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
const MAX_FRAME_SAMPLES = 5_760; // 120 ms at 48 kHz, Opus' longest frame

/** A mono 16-bit 48 kHz WAV with every track of the recording mixed. */
export function renderWav(path: string): Buffer {
  const { frames, codecs } = readFrameLog(path);
  const tracks = new Map<number, Frame[]>();
  for (const f of frames) (tracks.get(f.track) ?? tracks.set(f.track, []).get(f.track)!).push(f);
  const placed: { offset: number; pcm: Int16Array }[] = [];
  let length = 0;
  for (const [track, list] of tracks) {
    const codec = codecs.get(track) ?? 'opus';
    const origin0 = Math.round((list[0]!.atMs / 1000) * RATE);
    if (codec !== 'opus') {
      // G.711's RTP clock is 8 kHz: six 48 kHz samples per tick.
      for (const frame of list) {
        const pcm = decodeG711(frame.payload, codec);
        const offset = origin0 + ((frame.rtpTimestamp - list[0]!.rtpTimestamp) >>> 0) * 6;
        placed.push({ offset, pcm });
        length = Math.max(length, offset + pcm.length);
      }
      continue;
    }
    const decoder = newOpusDecoder();
    // A track starts where its first packet arrived; later packets follow the RTP clock (48 kHz for Opus).
    const origin = Math.round((list[0]!.atMs / 1000) * RATE);
    const firstTs = list[0]!.rtpTimestamp;
    try {
      for (const frame of list) {
        const pcm = decodeOpusStereo(decoder, frame.payload);
        if (!pcm) continue; // a damaged packet is a moment of silence, not a failed recording
        const offset = origin + ((frame.rtpTimestamp - firstTs) >>> 0);
        const mono = new Int16Array(Math.min(pcm.length / 2, MAX_FRAME_SAMPLES));
        for (let i = 0; i < mono.length; i++) mono[i] = (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1;
        placed.push({ offset, pcm: mono });
        length = Math.max(length, offset + mono.length);
      }
    } finally {
      decoder.delete();
    }
  }
  const mix = new Int32Array(length);
  for (const { offset, pcm } of placed) for (let i = 0; i < pcm.length; i++) mix[offset + i]! += pcm[i]!;
  const samples = new Int16Array(length);
  for (let i = 0; i < length; i++) samples[i] = Math.max(-32768, Math.min(32767, mix[i]!));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, RATE, '16', samples);
  return Buffer.from(wav.toBuffer());
}
