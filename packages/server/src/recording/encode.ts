// Prompt encoding: any PCM WAV (wavefile) to 48 kHz mono, then 20 ms Opus packets (opusscript) ready for the player.
import OpusScript from 'opusscript';
import wavefile from 'wavefile';

const RATE = 48_000;
const FRAME = 960;

/** Encodes a WAV file's audio as 20 ms Opus frames; throws on a file that is not a readable WAV. */
export function encodeWavToOpusFrames(wavBytes: Uint8Array): Buffer[] {
  const wav = new wavefile.WaveFile(wavBytes);
  wav.toBitDepth('16');
  wav.toSampleRate(RATE);
  const channels = (wav.fmt as { numChannels: number }).numChannels;
  const raw = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  const mono = new Int16Array(Math.floor(raw.length / channels));
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += raw[i * channels + c]!;
    mono[i] = Math.round(sum / channels);
  }
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
