// Offline speech synthesis with Debian's espeak-ng: one WAV per sentence (22.05 kHz mono), read with wavefile.
import { spawn } from 'node:child_process';
import wavefile from 'wavefile';
import type { TextToSpeech } from '../../audio/pipeline.js';

export const ESPEAK_RATE = 22_050;

/** espeak-ng's voice for a BCP 47 language ('en' → 'en-us'); `voice` wins when it looks like a voice name. */
export function espeakVoice(language: string, voice: string | null): string {
  if (voice && /^[A-Za-z0-9_+-]{1,40}$/.test(voice)) return voice;
  const lang = language.toLowerCase();
  return lang === 'en' ? 'en-us' : /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/.test(lang) ? lang : 'en-us';
}

/** 16-bit mono samples of a WAV espeak-ng streamed to stdout (its header's sizes are placeholders, fixed here first). */
function wavSamples(bytes: Buffer): Int16Array {
  const dataAt = bytes.indexOf('data', 12, 'latin1');
  if (dataAt < 0) throw new Error('espeak-ng wrote no WAV');
  bytes.writeUInt32LE(bytes.length - 8, 4);
  bytes.writeUInt32LE(bytes.length - dataAt - 8, dataAt + 4);
  const wav = new wavefile.WaveFile(bytes);
  if ((wav.fmt as { sampleRate: number }).sampleRate !== ESPEAK_RATE) wav.toSampleRate(ESPEAK_RATE);
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

/** Runs espeak-ng once for `text` (the process is killed when `signal` aborts). */
export function synthesize(text: string, voice: string, signal?: AbortSignal): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('espeak-ng', ['--stdout', '-v', voice], { stdio: ['pipe', 'pipe', 'ignore'], signal });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return signal?.aborted ? undefined : reject(new Error(`espeak-ng exited with code ${code}`));
      try {
        resolve(wavSamples(Buffer.concat(chunks)));
      } catch (err) {
        reject(err as Error);
      }
    });
    child.stdin.end(text);
  });
}

export class EspeakTts implements TextToSpeech {
  readonly sampleRate = ESPEAK_RATE;

  constructor(private readonly voice: string) {}

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    yield await synthesize(sentence, this.voice, signal);
  }
}
