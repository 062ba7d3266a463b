// Test tone fixtures: 16-bit mono WAV sine waves that Chromium plays as its fake microphone.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import wavefile from 'wavefile';

const SAMPLE_RATE = 48_000;

/** Writes (once) a `seconds`-long sine at `frequency` Hz and returns its path. */
export function toneFile(dir: string, frequency: number, seconds = 10): string {
  const file = join(dir, `tone-${frequency}hz-${seconds}s.wav`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const samples = new Int16Array(SAMPLE_RATE * seconds);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * frequency * i) / SAMPLE_RATE));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, SAMPLE_RATE, '16', samples);
  writeFileSync(file, wav.toBuffer());
  return file;
}

/** Root mean square of 16-bit PCM. */
export function rms(pcm: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return pcm.length ? Math.sqrt(sum / pcm.length) : 0;
}

/** Relative power of `frequency` in `samples` (Goertzel), normalised by the signal's energy: ~0.5 for a pure tone. */
export function tonePower(samples: ArrayLike<number>, rate: number, frequency: number): number {
  const k = (2 * Math.cos((2 * Math.PI * frequency) / rate));
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return energy === 0 ? 0 : power / (energy * samples.length);
}
