// Voice activity detection: WebRTC's VAD (libfvad, WASM) on 20 ms frames of 16 kHz audio.
import createFvad from '@echogarden/fvad-wasm';

interface FvadModule {
  _fvad_new(): number;
  _fvad_free(handle: number): void;
  _fvad_set_mode(handle: number, mode: number): number;
  _fvad_set_sample_rate(handle: number, rate: number): number;
  _fvad_process(handle: number, frame: number, samples: number): number;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAP16: Int16Array;
}

export const VAD_RATE = 16_000;
export const VAD_FRAME = 320;

/** One wasm instance per thread, shared by every detector. */
let module: Promise<FvadModule> | null = null;

export class VoiceDetector {
  private constructor(
    private readonly fvad: FvadModule,
    private readonly handle: number,
    private readonly frame: number,
  ) {}

  /** Mode 0 (least aggressive) to 3 (most aggressive at calling noise "not speech"). */
  static async create(mode = 2): Promise<VoiceDetector> {
    module ??= createFvad() as Promise<FvadModule>;
    const fvad = await module;
    const handle = fvad._fvad_new();
    if (fvad._fvad_set_mode(handle, mode) !== 0 || fvad._fvad_set_sample_rate(handle, VAD_RATE) !== 0) throw new Error('fvad rejected its settings');
    return new VoiceDetector(fvad, handle, fvad._malloc(VAD_FRAME * 2));
  }

  /** Whether a 20 ms frame (320 samples at 16 kHz) holds speech. */
  isSpeech(pcm: Int16Array): boolean {
    this.fvad.HEAP16.set(pcm.subarray(0, VAD_FRAME), this.frame >> 1);
    return this.fvad._fvad_process(this.handle, this.frame, VAD_FRAME) === 1;
  }

  destroy(): void {
    this.fvad._free(this.frame);
    this.fvad._fvad_free(this.handle);
  }
}
