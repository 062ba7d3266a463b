// OpenAI speech-to-text of one utterance: `POST {base}/audio/transcriptions` (multipart: the utterance as a 16 kHz
// mono WAV, the model, the language), `{ "text" }` back. Any OpenAI-compatible server works through the agent's base URL.
import type { SpeechToText } from '../../audio/pipeline.js';
import { readJson, vendorFetch, VendorError, vendorUrl } from './wire.js';
import { wavHeader } from '../../audio/wav.js';

const OPENAI = 'https://api.openai.com/v1';
const DEFAULT_MODEL = 'gpt-4o-mini-transcribe';
const RATE = 16_000;

export interface OpenAiSttOptions {
  apiKey: string | null;
  baseUrl: string | null;
  /** BCP 47; the API takes its ISO 639-1 language ('en-GB' → 'en'). */
  language: string;
  model?: string;
}

export class OpenAiStt implements SpeechToText {
  constructor(private readonly opts: OpenAiSttOptions) {}

  async transcribe(pcm16k: Int16Array, signal: AbortSignal): Promise<string> {
    const { apiKey, baseUrl, language, model } = this.opts;
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wavHeader(pcm16k.length, RATE)), new Int16Array(pcm16k)], { type: 'audio/wav' }), 'utterance.wav');
    form.append('model', model ?? DEFAULT_MODEL);
    const iso639 = language.split('-')[0]!.toLowerCase();
    if (/^[a-z]{2}$/.test(iso639)) form.append('language', iso639);
    form.append('response_format', 'json');
    const response = await vendorFetch('openai', vendorUrl(baseUrl, OPENAI, '/audio/transcriptions'), {
      method: 'POST',
      headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
      body: form,
      signal,
    });
    const body = await readJson<{ text?: unknown }>('openai', response, signal, 'transcription');
    if (typeof body.text !== 'string') throw new VendorError('openai', 'the transcription has no text');
    return body.text.trim();
  }
}
