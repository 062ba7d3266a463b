// ElevenLabs streaming text-to-speech over its input-streaming WebSocket (`/v1/text-to-speech/{voice_id}/stream-input`):
// per sentence, the opening message (a space, voice settings), the text flushed, the closing empty text; base64 16 kHz
// PCM `audio` chunks back until `isFinal`. The sentence's socket is connected ahead (prewarm) while the reply is worked out.
import WebSocket from 'ws';
import type { TextToSpeech } from '../../audio/pipeline.js';
import { socketSynthesis, SocketTts, vendorUrl } from './wire.js';

const ELEVENLABS = 'wss://api.elevenlabs.io';
/** ElevenLabs' pre-made "Rachel" voice, for an agent without a `voice`. */
const DEFAULT_VOICE = '21m00Tcm4TlvDq8ikWAM';
const DEFAULT_MODEL = 'eleven_flash_v2_5';
const RATE = 16_000;
const CONNECT_TIMEOUT_MS = 5000;
/** ElevenLabs closes a socket that got no text for 20 s (its default inactivity_timeout): a spare is kept for less. */
const SPARE_IDLE_MS = 15_000;

export interface ElevenLabsOptions {
  apiKey: string | null;
  baseUrl: string | null;
  voiceId: string | null;
  model?: string;
}

interface ServerMessage {
  audio?: string | null;
  isFinal?: boolean | null;
  error?: unknown;
  message?: unknown;
}

export class ElevenLabsTts extends SocketTts implements TextToSpeech {
  readonly sampleRate = RATE;

  constructor(private readonly opts: ElevenLabsOptions) {
    super(SPARE_IDLE_MS);
  }

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    signal.throwIfAborted();
    const ws = this.takeSocket();
    yield* socketSynthesis<ServerMessage>('elevenlabs', ws, signal, {
      send: () => {
        ws.send(JSON.stringify({ text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 } }));
        ws.send(JSON.stringify({ text: `${sentence} `, flush: true }));
        ws.send(JSON.stringify({ text: '' }));
      },
      message: (message, sink) => {
        if (message.error !== undefined) return sink.fail(`error message (${typeof message.error === 'string' && /^[\w.-]{1,64}$/.test(message.error) ? message.error : 'unknown'})`);
        if (typeof message.audio === 'string' && message.audio.length > 0) sink.audio(message.audio);
        if (message.isFinal === true) sink.end();
      },
    });
  }

  protected connect(): WebSocket {
    const voice = this.opts.voiceId && /^[A-Za-z0-9]{1,64}$/.test(this.opts.voiceId) ? this.opts.voiceId : DEFAULT_VOICE;
    const query = new URLSearchParams({ model_id: this.opts.model ?? DEFAULT_MODEL, output_format: `pcm_${RATE}` });
    const url = vendorUrl(this.opts.baseUrl, ELEVENLABS, `/v1/text-to-speech/${voice}/stream-input?${query}`);
    return new WebSocket(url, { headers: this.opts.apiKey ? { 'xi-api-key': this.opts.apiKey } : {}, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 4 << 20 });
  }
}
