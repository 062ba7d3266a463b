// Opus encoding (48 kHz mono, 20 ms frames) with opusscript, through the real wasm addresses (see media/opus-decoder.ts).
import OpusScript from 'opusscript';

export const OPUS_FRAME = 960;

/** What opusscript 0.1.1 keeps on its instances: the native handler and the malloc'd buffers' addresses in the wasm heap. */
interface OpusNative {
  handler: { _encode(input: number, bytes: number, output: number, frameSize: number): number };
  inPCMPointer: number;
  outOpusPointer: number;
  outOpus: Uint8Array;
}

/**
 * opusscript's encode() copies its input into a HEAPU16 view indexed by a byte address, i.e. twice the real address,
 * writing outside its allocation (as decode() does). This writes the samples at the real address instead, in the layout the
 * native side reads: each sample as two 16-bit halves (low byte, high byte).
 */
export class OpusEncoder {
  private readonly opus = new OpusScript(48_000, 1, OpusScript.Application.VOIP);

  /** One 20 ms frame (960 samples at 48 kHz) → an Opus packet. */
  encode(pcm: Int16Array): Buffer {
    const native = this.opus as unknown as OpusNative;
    const heap = native.outOpus.buffer as ArrayBuffer;
    const halves = new Uint16Array(heap, native.inPCMPointer, OPUS_FRAME * 2);
    for (let i = 0; i < OPUS_FRAME; i++) {
      const sample = pcm[i] ?? 0;
      halves[2 * i] = sample & 0xff;
      halves[2 * i + 1] = (sample >> 8) & 0xff;
    }
    const len = native.handler._encode(native.inPCMPointer, OPUS_FRAME * 2, native.outOpusPointer, OPUS_FRAME);
    if (len < 0) throw new Error(`Opus encode error ${len}`);
    return Buffer.from(new Uint8Array(heap, native.outOpusPointer, len));
  }

  delete(): void {
    this.opus.delete();
  }
}
