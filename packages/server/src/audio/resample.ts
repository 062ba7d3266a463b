// Streaming sample-rate conversion of 16-bit mono audio with libsamplerate (WASM): filter state carries across chunks.
import LibSampleRate from '@alexanderolsen/libsamplerate-js';

type Src = Awaited<ReturnType<typeof LibSampleRate.create>>;

export class Resampler {
  private constructor(private readonly src: Src | null) {}

  /** A converter from `from` Hz to `to` Hz (a pass-through when they are equal). */
  static async create(from: number, to: number): Promise<Resampler> {
    if (from === to) return new Resampler(null);
    return new Resampler(await LibSampleRate.create(1, from, to, { converterType: LibSampleRate.ConverterType.SRC_SINC_FASTEST }));
  }

  /** The next chunk of the stream, converted (its length varies by a sample or two; the filter delays the first chunk). */
  process(pcm: Int16Array): Int16Array {
    if (!this.src) return pcm;
    const input = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) input[i] = pcm[i]! / 32768;
    const output = this.src.full(input);
    const out = new Int16Array(output.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(output[i]! * 32768)));
    return out;
  }

  destroy(): void {
    this.src?.destroy();
  }
}
