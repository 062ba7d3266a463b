// Google Cloud Text-to-Speech: `POST {base}/v1/text:synthesize` with the key in `x-goog-api-key`, LINEAR16 at 24 kHz,
// the voice by language code (and name when the agent's `voice` is a Google voice); the base64 `audioContent` back is a
// WAV whose header is stripped, sentence by sentence.
import type { TextToSpeech } from '../../audio/pipeline.js';
import { WAV_HEADER_BYTES } from '../../audio/wav.js';
import { Pcm16Chunker, postJson, readJson, VendorError, vendorUrl } from './wire.js';

const TEXT_TO_SPEECH = 'https://texttospeech.googleapis.com';
const RATE = 24_000;
/** A Google voice name: its language code, then the voice (`en-US-Neural2-F`, `de-DE-Chirp3-HD-Aoede`). */
const VOICE_NAME = /^([a-z]{2,3}-[A-Z]{2})-[\w-]{1,48}$/;

export interface GoogleTtsOptions {
  apiKey: string | null;
  baseUrl: string | null;
  /** A Google voice name, or null (anything else): Google's default voice of the language. */
  voice: string | null;
  /** BCP 47. */
  language: string;
}

export class GoogleTts implements TextToSpeech {
  readonly sampleRate = RATE;

  constructor(private readonly opts: GoogleTtsOptions) {}

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    signal.throwIfAborted();
    const { apiKey, baseUrl, voice, language } = this.opts;
    const named = voice ? VOICE_NAME.exec(voice) : null;
    const response = await postJson(
      'google',
      vendorUrl(baseUrl, TEXT_TO_SPEECH, '/v1/text:synthesize'),
      apiKey ? { 'x-goog-api-key': apiKey } : {},
      {
        input: { text: sentence },
        voice: named ? { languageCode: named[1], name: voice } : { languageCode: language },
        audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: RATE },
      },
      signal,
    );
    const body = await readJson<{ audioContent?: unknown }>('google', response, signal, 'speech');
    if (typeof body.audioContent !== 'string') throw new VendorError('google', 'the speech has no audioContent');
    const wav = Buffer.from(body.audioContent, 'base64');
    // LINEAR16 comes as a WAV: its 44-byte header before the samples.
    const pcm = new Pcm16Chunker().push(wav.subarray(wav.subarray(0, 4).toString('latin1') === 'RIFF' ? WAV_HEADER_BYTES : 0));
    if (pcm.length > 0) yield pcm;
  }
}
