// Speech for tests, independent of the product's engines: espeak-ng says a phrase (a WAV the caller's microphone plays),
// pocketsphinx (Debian's pocketsphinx_continuous with its en-us model) recognises 16 kHz speech against a JSGF grammar
// built from the phrases a test expects. Recognition is only meaningful at 16 kHz (not after an 8 kHz mu-law hop) and
// with a grammar: free dictation of espeak-ng's voice is nonsense.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import wavefile from 'wavefile';

const run = promisify(execFile);

export const ESPEAK_BIN = process.env.ESPEAK_BIN ?? '/usr/bin/espeak-ng';
export const POCKETSPHINX_BIN = process.env.POCKETSPHINX_BIN ?? '/usr/bin/pocketsphinx_continuous';
const DICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

/** espeak-ng's voice saying `text`: a 16-bit mono WAV (22.05 kHz) and its length. */
export async function speak(text: string, opts: { voice?: string; wordsPerMinute?: number } = {}): Promise<{ wav: Buffer; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'astral-tts-'));
  try {
    const file = join(dir, 'say.wav');
    await run(ESPEAK_BIN, ['-v', opts.voice ?? 'en-us', '-s', String(opts.wordsPerMinute ?? 160), '-w', file, text]);
    const wav = readFileSync(file);
    const w = new wavefile.WaveFile(wav);
    const fmt = w.fmt as { sampleRate: number; numChannels: number };
    const samples = (w.getSamples(false, Int16Array) as unknown as Int16Array).length / fmt.numChannels;
    return { wav, seconds: samples / fmt.sampleRate };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Any WAV (any rate, depth, channels) → 16 kHz 16-bit mono PCM (the first channel), resampled by wavefile. */
export function wavTo16k(bytes: Uint8Array): Int16Array {
  const w = new wavefile.WaveFile(bytes);
  w.toBitDepth('16');
  const fmt = w.fmt as { sampleRate: number; numChannels: number };
  if (fmt.sampleRate !== 16_000) w.toSampleRate(16_000, { method: 'sinc' });
  const samples = w.getSamples(false, Int16Array) as unknown as Int16Array | Int16Array[];
  return Array.isArray(samples) ? samples[0]! : samples;
}

/** A slice [fromS, toS) of 16 kHz PCM. */
export const slice16k = (pcm: Int16Array, fromS: number, toS = pcm.length / 16_000): Int16Array =>
  pcm.subarray(Math.max(0, Math.floor(fromS * 16_000)), Math.min(pcm.length, Math.floor(toS * 16_000)));

/** Words the en-us dictionary lacks, spelled in its phones the way espeak-ng says them (`espeak-ng -x`: 'akI2l,aI). */
const EXTRA_WORDS: Record<string, string[]> = {
  akylai: ['AE K IH L AY', 'AA K IH L AY', 'AH K IY L AY'],
};

let dictWords: Set<string> | undefined;
let dictFile: string | undefined;
/** Whether the dictionary knows the word (words it does not know cannot be in a grammar). */
export function inDictionary(word: string): boolean {
  dictWords ??= new Set([...readFileSync(DICT, 'utf8').split('\n').map((l) => l.split(' ')[0]!), ...Object.keys(EXTRA_WORDS)]);
  return dictWords.has(word);
}

/** pocketsphinx's dictionary plus EXTRA_WORDS, written once per process. */
function dictionary(): string {
  if (dictFile) return dictFile;
  const extra = Object.entries(EXTRA_WORDS).flatMap(([w, prons]) => prons.map((p, i) => `${i ? `${w}(${i + 1})` : w} ${p}`));
  const file = join(mkdtempSync(join(tmpdir(), 'astral-dict-')), 'dict');
  writeFileSync(file, readFileSync(DICT, 'utf8').trimEnd() + '\n' + extra.join('\n') + '\n');
  return (dictFile = file);
}

/** Words as pocketsphinx spells them: lower case, no punctuation. */
export const words = (text: string): string[] =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);

/**
 * The JSGF grammar of a set of phrases. Each phrase is cut into clauses at its punctuation (pocketsphinx's voice activity
 * detector splits an utterance at the pauses espeak-ng makes there, and a clause may end one utterance and start the next
 * without a pause), words the dictionary lacks are left out, and an utterance is any sequence of clauses.
 */
export function grammarOf(phrases: string[]): string {
  const clauses = new Set<string>();
  for (const phrase of phrases)
    for (const clause of phrase.split(/[,.;:!?]+/)) {
      const known = words(clause).filter(inDictionary);
      if (known.length) clauses.add(known.join(' '));
    }
  if (!clauses.size) throw new Error(`no dictionary words in ${JSON.stringify(phrases)}`);
  return ['#JSGF V1.0;', 'grammar test;', 'public <utterance> = <clause>+;', `<clause> = ${[...clauses].join(' | ')};`, ''].join('\n');
}

/** One recognised utterance with where it was in the audio (seconds). */
export interface Utterance {
  text: string;
  startS: number;
  endS: number;
}

/**
 * Recognises 16 kHz mono PCM against the grammar of `phrases`: one hypothesis per utterance pocketsphinx segments out
 * (silence gives none). Beams are wide: with the default ones a long espeak-ng sentence finds no path through the grammar.
 */
export async function recognize(pcm16k: Int16Array, phrases: string[]): Promise<Utterance[]> {
  const dir = mkdtempSync(join(tmpdir(), 'astral-stt-'));
  try {
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 16_000, '16', pcm16k);
    writeFileSync(join(dir, 'in.wav'), wav.toBuffer());
    writeFileSync(join(dir, 'g.gram'), grammarOf(phrases));
    const { stdout } = await run(
      POCKETSPHINX_BIN,
      ['-infile', join(dir, 'in.wav'), '-jsgf', join(dir, 'g.gram'), '-dict', dictionary(), '-beam', '1e-80', '-wbeam', '1e-60', '-pbeam', '1e-80', '-time', 'yes', '-logfn', '/dev/null'],
      { maxBuffer: 16 << 20, timeout: 60_000 },
    );
    return parseTimed(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `-time yes` prints each utterance's hypothesis line, then one `word start end confidence` line per word. */
function parseTimed(stdout: string): Utterance[] {
  const out: Utterance[] = [];
  let current: { words: string[]; startS: number; endS: number } | null = null;
  const flush = () => {
    if (current && current.words.length) out.push({ text: current.words.join(' '), startS: current.startS, endS: current.endS });
    current = null;
  };
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m) {
      flush(); // a hypothesis line starts the next utterance's word lines
      continue;
    }
    const [, word, start, end] = m;
    if (word === '<s>') {
      flush();
      current = { words: [], startS: Number(start), endS: Number(end) };
      continue;
    }
    current ??= { words: [], startS: Number(start), endS: Number(end) };
    current.endS = Number(end);
    if (word === '</s>' || word === '<sil>' || /^\[.*\]$/.test(word!) || /^\(.*\)$/.test(word!)) continue;
    current.words.push(word!.replace(/\(\d+\)$/, ''));
  }
  flush();
  return out;
}

/** Whether the recognised utterances hold every clause of `phrase` that the dictionary can spell, in order. */
export function heardPhrase(utterances: Utterance[], phrase: string): boolean {
  const said = ' ' + utterances.map((u) => u.text).join(' ') + ' ';
  let at = 0;
  for (const clause of phrase.split(/[,.;:!?]+/)) {
    const known = words(clause).filter(inDictionary).join(' ');
    if (!known) continue;
    const i = said.indexOf(' ' + known + ' ', at);
    if (i < 0) return false;
    at = i + known.length + 1;
  }
  return true;
}
