// Cartesia streaming text-to-speech over its WebSocket (`/tts/websocket`, key and version in the upgrade's headers): per
// sentence one generation request (its own context_id, raw pcm_s16le at 16 kHz), base64 `chunk` messages back until
// `done`; a barge-in cancels the context. The sentence's socket is connected ahead (prewarm) while the reply is worked out.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { TextToSpeech } from '../../audio/pipeline.js';
import { socketSynthesis, SocketTts, vendorUrl } from './wire.js';

const CARTESIA = 'wss://api.cartesia.ai';
const API_VERSION = '2024-11-13';
const DEFAULT_MODEL = 'sonic-3';
/** A stock Cartesia voice, for an agent without a `voice`. */
const DEFAULT_VOICE = 'a0e99841-438c-4a64-b679-ae501e7d6091';
const RATE = 16_000;
const CONNECT_TIMEOUT_MS = 5000;
/** How long a connected spare socket is kept unused (Cartesia closes idle sockets after minutes). */
const SPARE_IDLE_MS = 15_000;

export interface CartesiaOptions {
  apiKey: string | null;
  baseUrl: string | null;
  voiceId: string | null;
  /** BCP 47; Cartesia takes its ISO 639-1 language. */
  language: string;
  model?: string;
}

interface ServerMessage {
  type?: unknown;
  data?: unknown;
  done?: unknown;
  context_id?: unknown;
  error_code?: unknown;
  status_code?: unknown;
}

export class CartesiaTts extends SocketTts implements TextToSpeech {
  readonly sampleRate = RATE;

  constructor(private readonly opts: CartesiaOptions) {
    super(SPARE_IDLE_MS);
  }

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    signal.throwIfAborted();
    const { voiceId, language, model } = this.opts;
    const ws = this.takeSocket();
    const contextId = randomUUID();
    let done = false;
    yield* socketSynthesis<ServerMessage>('cartesia', ws, signal, {
      send: () => {
        const iso639 = language.split('-')[0]!.toLowerCase();
        ws.send(
          JSON.stringify({
            model_id: model ?? DEFAULT_MODEL,
            transcript: `${sentence} `,
            voice: { mode: 'id', id: voiceId && /^[\w-]{1,64}$/.test(voiceId) ? voiceId : DEFAULT_VOICE },
            ...(/^[a-z]{2}$/.test(iso639) ? { language: iso639 } : {}),
            context_id: contextId,
            output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: RATE },
            continue: false,
          }),
        );
      },
      message: (message, sink) => {
        if (message.context_id !== undefined && message.context_id !== contextId) return;
        if (message.type === 'error') {
          const code = typeof message.error_code === 'string' && /^[\w.-]{1,64}$/.test(message.error_code) ? message.error_code : `status ${Number(message.status_code) || 'unknown'}`;
          return sink.fail(`error message (${code})`);
        }
        if (message.type === 'chunk' && typeof message.data === 'string') sink.audio(message.data);
        if (message.type === 'done' || message.done === true) {
          done = true;
          sink.end();
        }
      },
      closing: () => {
        if (!done) ws.send(JSON.stringify({ context_id: contextId, cancel: true }));
      },
    });
  }

  protected connect(): WebSocket {
    const { apiKey, baseUrl } = this.opts;
    const headers: Record<string, string> = { 'Cartesia-Version': API_VERSION, ...(apiKey ? { 'X-API-Key': apiKey } : {}) };
    return new WebSocket(vendorUrl(baseUrl, CARTESIA, '/tts/websocket'), { headers, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 4 << 20 });
  }
}
