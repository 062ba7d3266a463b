// Google Cloud Speech-to-Text v1 of one utterance: `POST {base}/v1/speech:recognize` with the key in `x-goog-api-key`,
// the utterance as base64 LINEAR16 at 16 kHz with the agent's language; the results' best transcripts back.
import type { SpeechToText } from '../../audio/pipeline.js';
import { postJson, readJson, vendorUrl } from './wire.js';

const SPEECH = 'https://speech.googleapis.com';
const RATE = 16_000;

export interface GoogleSttOptions {
  apiKey: string | null;
  baseUrl: string | null;
  /** BCP 47. */
  language: string;
}

interface RecognizeResponse {
  results?: { alternatives?: { transcript?: unknown }[] }[];
}

export class GoogleStt implements SpeechToText {
  constructor(private readonly opts: GoogleSttOptions) {}

  async transcribe(pcm16k: Int16Array, signal: AbortSignal): Promise<string> {
    const { apiKey, baseUrl, language } = this.opts;
    const content = Buffer.from(pcm16k.buffer, pcm16k.byteOffset, pcm16k.byteLength).toString('base64');
    const response = await postJson(
      'google',
      vendorUrl(baseUrl, SPEECH, '/v1/speech:recognize'),
      apiKey ? { 'x-goog-api-key': apiKey } : {},
      { config: { encoding: 'LINEAR16', sampleRateHertz: RATE, languageCode: language, enableAutomaticPunctuation: true }, audio: { content } },
      signal,
    );
    const body = await readJson<RecognizeResponse>('google', response, signal, 'recognition');
    // Nothing recognised: no results at all. Each result is a stretch of the utterance; its first alternative is the best.
    return (body.results ?? [])
      .map((r) => r.alternatives?.[0]?.transcript)
      .filter((t): t is string => typeof t === 'string')
      .map((t) => t.trim())
      .filter(Boolean)
      .join(' ');
  }
}
