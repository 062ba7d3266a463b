// Cartesia streaming text-to-speech over its WebSocket (`/tts/websocket`, key and version in the upgrade's headers): per
// sentence one generation request (its own context_id, raw pcm_s16le at 16 kHz), base64 `chunk` messages back until
// `done`; a barge-in cancels the context. The sentence's socket is connected ahead (prewarm) while the reply is worked out.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { TextToSpeech } from '../../audio/pipeline.js';
import { abortError, AsyncQueue, Pcm16Chunker, SpareSocket, VendorError, vendorUrl, whenOpen } from './wire.js';

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

export class CartesiaTts implements TextToSpeech {
  readonly sampleRate = RATE;

  private readonly sockets = new SpareSocket(() => this.connect(), SPARE_IDLE_MS);

  constructor(private readonly opts: CartesiaOptions) {}

  prewarm(): void {
    this.sockets.warm();
  }

  close(): void {
    this.sockets.close();
  }

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    signal.throwIfAborted();
    const { voiceId, language, model } = this.opts;
    const ws = this.sockets.take();
    const contextId = randomUUID();
    const chunks = new AsyncQueue<Int16Array>();
    const fail = (what: string) => chunks.fail(new VendorError('cartesia', what));
    const abort = () => chunks.fail(abortError());
    signal.addEventListener('abort', abort, { once: true });
    const chunker = new Pcm16Chunker();
    let done = false;
    whenOpen(ws, () => {
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
    });
    ws.on('unexpected-response', (_req, res) => {
      fail(`the connection was refused (HTTP ${res.statusCode})`);
      res.resume();
      ws.terminate();
    });
    ws.on('message', (data, isBinary) => {
      let message: ServerMessage;
      try {
        message = isBinary ? {} : (JSON.parse(data.toString()) as ServerMessage);
      } catch {
        return;
      }
      if (message.context_id !== undefined && message.context_id !== contextId) return;
      if (message.type === 'error') {
        const code = typeof message.error_code === 'string' && /^[\w.-]{1,64}$/.test(message.error_code) ? message.error_code : `status ${Number(message.status_code) || 'unknown'}`;
        return fail(`error message (${code})`);
      }
      if (message.type === 'chunk' && typeof message.data === 'string') {
        const pcm = chunker.push(Buffer.from(message.data, 'base64'));
        if (pcm.length > 0) chunks.push(pcm);
      }
      if (message.type === 'done' || message.done === true) {
        done = true;
        chunks.end();
      }
    });
    ws.on('error', (err) => fail(err.message));
    ws.on('close', (code) => fail(`the connection closed before the audio was complete (${code})`));
    try {
      yield* chunks;
    } finally {
      signal.removeEventListener('abort', abort);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN) {
        if (!done) ws.send(JSON.stringify({ context_id: contextId, cancel: true }));
        ws.close(1000);
      } else ws.terminate();
    }
  }

  private connect(): WebSocket {
    const { apiKey, baseUrl } = this.opts;
    const headers: Record<string, string> = { 'Cartesia-Version': API_VERSION, ...(apiKey ? { 'X-API-Key': apiKey } : {}) };
    return new WebSocket(vendorUrl(baseUrl, CARTESIA, '/tts/websocket'), { headers, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 4 << 20 });
  }
}
