// OpenAI text-to-speech: `POST {base}/audio/speech` with `response_format: "pcm"` (24 kHz 16-bit mono), the body read
// as it arrives, sentence by sentence. Any OpenAI-compatible server works through the agent's base URL.
import type { TextToSpeech } from '../../audio/pipeline.js';
import { Pcm16Chunker, postJson, VendorError, vendorUrl } from './wire.js';

const OPENAI = 'https://api.openai.com/v1';
const DEFAULT_MODEL = 'gpt-4o-mini-tts';
const DEFAULT_VOICE = 'alloy';
/** What `pcm` is: 24 kHz signed 16-bit little-endian mono, no header. */
const RATE = 24_000;

export interface OpenAiTtsOptions {
  apiKey: string | null;
  baseUrl: string | null;
  /** A built-in voice name (alloy, marin, …); anything else gets the default. */
  voice: string | null;
  model?: string;
}

export class OpenAiTts implements TextToSpeech {
  readonly sampleRate = RATE;

  constructor(private readonly opts: OpenAiTtsOptions) {}

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    signal.throwIfAborted();
    const { apiKey, baseUrl, voice, model } = this.opts;
    const response = await postJson(
      'openai',
      vendorUrl(baseUrl, OPENAI, '/audio/speech'),
      apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
      { model: model ?? DEFAULT_MODEL, input: sentence, voice: voice && /^[a-z]{2,32}$/.test(voice) ? voice : DEFAULT_VOICE, response_format: 'pcm' },
      signal,
    );
    const chunker = new Pcm16Chunker();
    // Leaving the loop early (the pipeline stopped reading) cancels the body; an abort aborts the request.
    try {
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        const pcm = chunker.push(bytes);
        if (pcm.length > 0) yield pcm;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      throw new VendorError('openai', `the speech stream broke (${(err as Error).message})`);
    }
  }
}
