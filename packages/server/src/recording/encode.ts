// Prompt encoding: any PCM WAV (wavefile) to mono, then 20 ms Opus (48 kHz, opusscript) or G.711 (8 kHz, alawmulaw) packets for the player.
import alawmulaw from 'alawmulaw';
import OpusScript from 'opusscript';
import wavefile from 'wavefile';

const RATE = 48_000;
const FRAME = 960;

/** A WAV file's audio as 16-bit mono at `rate`; throws on a file that is not a readable WAV. */
function monoPcm(wavBytes: Uint8Array, rate: number): Int16Array {
  const wav = new wavefile.WaveFile(wavBytes);
  wav.toBitDepth('16');
  wav.toSampleRate(rate);
  const channels = (wav.fmt as { numChannels: number }).numChannels;
  const raw = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  const mono = new Int16Array(Math.floor(raw.length / channels));
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += raw[i * channels + c]!;
    mono[i] = Math.round(sum / channels);
  }
  return mono;
}

/** Encodes a WAV file's audio as 20 ms G.711 frames (160 bytes at 8 kHz). */
export function encodeWavToG711Frames(wavBytes: Uint8Array, codec: 'PCMU' | 'PCMA'): Buffer[] {
  const pcm = monoPcm(wavBytes, 8000);
  const encoded = (codec === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw).encode(pcm);
  const frames: Buffer[] = [];
  for (let at = 0; at + 160 <= encoded.length; at += 160) frames.push(Buffer.from(encoded.subarray(at, at + 160)));
  return frames;
}

/** Encodes a WAV file's audio as 20 ms Opus frames; throws on a file that is not a readable WAV. */
export function encodeWavToOpusFrames(wavBytes: Uint8Array): Buffer[] {
  const mono = monoPcm(wavBytes, RATE);
  const encoder = new OpusScript(RATE, 1, OpusScript.Application.VOIP);
  try {
    const frames: Buffer[] = [];
    for (let at = 0; at + FRAME <= mono.length; at += FRAME) {
      const pcm = Buffer.from(mono.buffer, mono.byteOffset + at * 2, FRAME * 2);
      frames.push(Buffer.from(encoder.encode(pcm, FRAME)));
    }
    return frames;
  } finally {
    encoder.delete();
  }
}
