// Offline speech recognition with Debian's pocketsphinx_continuous (US English, 16 kHz), constrained by a JSGF grammar of known phrases.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { SpeechToText } from '../../audio/pipeline.js';

const MODEL = '/usr/share/pocketsphinx/model/en-us';
const DICTIONARY = join(MODEL, 'cmudict-en-us.dict');
/**
 * Unlimited HMMs per frame and wide beams: with the default pruning, a grammar of a dozen phrases found no path for a
 * one-word utterance of espeak-ng's ("goodbye" was heard as nothing). Wide beams alone did not fix it; -maxhmmpf -1 did.
 */
const WIDE_BEAMS = ['-maxhmmpf', '-1', '-beam', '1e-80', '-wbeam', '1e-60', '-pbeam', '1e-80'];

let dictionary: Promise<Set<string>> | null = null;

/** The words the recogniser can hear (a grammar with any other word fails to load). */
function words(): Promise<Set<string>> {
  dictionary ??= readFile(DICTIONARY, 'utf8').then((text) => new Set(text.split('\n').map((line) => line.slice(0, line.indexOf(' ')))));
  return dictionary;
}

/** A phrase as the grammar's words: lower case, punctuation dropped. */
export function grammarWords(phrase: string): string {
  return phrase
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const grammars = new Map<string, Promise<string>>();

/** Writes (once per set of phrases) a grammar accepting any sequence of them; phrases with unknown words are left out. */
function grammarFile(phrases: string[]): Promise<string> {
  const key = phrases.join('|');
  let file = grammars.get(key);
  if (!file) grammars.set(key, (file = writeGrammar(phrases)));
  return file;
}

async function writeGrammar(phrases: string[]): Promise<string> {
  const known = await words();
  const usable = [...new Set(phrases.map(grammarWords))].filter((p) => p && p.split(' ').every((w) => known.has(w)));
  if (usable.length === 0) throw new Error('no phrase of the grammar is in the pronunciation dictionary');
  const grammar = `#JSGF V1.0;\ngrammar agent;\npublic <utterance> = <phrase>+;\n<phrase> = ${usable.join(' | ')};\n`;
  const dir = join(tmpdir(), 'astral-jsgf');
  const file = join(dir, `${createHash('sha1').update(grammar).digest('hex')}.gram`);
  await mkdir(dir, { recursive: true });
  const partial = `${file}.${process.pid}.${threadId}`;
  await writeFile(partial, grammar);
  await rename(partial, file); // atomic: another process may be reading the same grammar
  return file;
}

/**
 * Recognises 16 kHz mono speech as a sequence of `phrases` ('' for silence or nothing like them). Without a grammar
 * pocketsphinx's general model outputs nonsense on this audio, so the phrases are what can be heard.
 */
export async function recognize(pcm16k: Int16Array, phrases: string[], signal?: AbortSignal): Promise<string> {
  const grammar = await grammarFile(phrases);
  signal?.throwIfAborted();
  // The utterance goes through a file: Node's stdin "pipe" is a socket, which pocketsphinx cannot open as /dev/stdin (ENXIO).
  const dir = await mkdtemp(join(tmpdir(), 'astral-stt-'));
  const input = join(dir, 'utterance.raw');
  try {
    await writeFile(input, Buffer.from(pcm16k.buffer, pcm16k.byteOffset, pcm16k.byteLength));
    signal?.throwIfAborted();
    return await new Promise<string>((resolve, reject) => {
      const child = spawn('pocketsphinx_continuous', ['-infile', input, '-jsgf', grammar, '-hmm', join(MODEL, 'en-us'), '-dict', DICTIONARY, ...WIDE_BEAMS, '-logfn', '/dev/null'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        signal,
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(out.split('\n').map((l) => l.trim()).filter(Boolean).join(' '));
        else if (!signal?.aborted) reject(new Error(`pocketsphinx_continuous exited with code ${code}`));
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class PocketsphinxStt implements SpeechToText {
  constructor(private readonly phrases: string[]) {}

  transcribe(pcm16k: Int16Array, signal: AbortSignal): Promise<string> {
    return recognize(pcm16k, this.phrases, signal);
  }
}
