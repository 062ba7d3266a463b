// A Cartesia TTS WebSocket fake (wss://api.cartesia.ai/tts/websocket), from Cartesia's API reference: the key checked at
// the upgrade (`X-API-Key` or `Authorization: Bearer` header, or `?api_key=`; 401 otherwise) and a version (the
// `Cartesia-Version` header or `?cartesia_version=`; 400 otherwise); a generation request (model_id, transcript, voice
// {mode:"id", id}, output_format {container:"raw", encoding:"pcm_s16le", sample_rate}, context_id) answered with base64
// `chunk` messages of a tone and `done`, all carrying its context_id. Scripted: an `error` message, a dropped
// connection mid-stream, a stall (a chunk, then nothing until the client cancels or goes). Cancels are recorded.
// Optionally with a handshake delay (the TLS + WebSocket handshake of a real connection).
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { refuseUpgrade, toneBytes, WebSocketFake } from './fake-server.js';

export const CARTESIA_TONE_HZ = 800;

export interface GenerationRequest {
  model_id?: unknown;
  transcript?: unknown;
  voice?: { mode?: unknown; id?: unknown };
  language?: unknown;
  context_id?: unknown;
  output_format?: { container?: unknown; encoding?: unknown; sample_rate?: unknown };
  continue?: unknown;
  cancel?: unknown;
}

export interface CartesiaSession {
  /** The upgrade request's URL (to check no key travels in it) and headers. */
  url: string;
  headers: IncomingMessage['headers'];
  messages: GenerationRequest[];
  socket: WebSocket;
  closed: boolean;
}

export type CartesiaBehaviour = 'speak' | 'error' | 'drop' | 'stall';

export class FakeCartesia extends WebSocketFake<CartesiaSession> {
  readonly behaviours: CartesiaBehaviour[] = [];

  private constructor(
    private readonly apiKey: string,
    private readonly msPerChar: number,
    /** From the upgrade request to its answer (ms). */
    private readonly connectMs: number,
  ) {
    super();
    this.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/tts/websocket') return refuseUpgrade(socket, 404);
      const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
      if ((req.headers['x-api-key'] ?? bearer ?? url.searchParams.get('api_key')) !== this.apiKey) return refuseUpgrade(socket, 401);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(String(url.searchParams.get('cartesia_version') ?? req.headers['cartesia-version']))) return refuseUpgrade(socket, 400);
      setTimeout(() => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req)), this.connectMs);
    });
  }

  static async start(apiKey: string, msPerChar = 20, latency: { connectMs?: number } = {}): Promise<FakeCartesia> {
    return new FakeCartesia(apiKey, msPerChar, latency.connectMs ?? 0).listen();
  }

  private accept(socket: WebSocket, req: IncomingMessage): void {
    const session: CartesiaSession = { url: req.url ?? '', headers: req.headers, messages: [], socket, closed: false };
    this.sessions.push(session);
    const behaviour = this.behaviours.shift() ?? 'speak';
    socket.on('close', () => (session.closed = true));
    socket.on('message', (data: Buffer) => {
      const request = JSON.parse(data.toString()) as GenerationRequest;
      session.messages.push(request);
      if (request.cancel === true) return;
      const contextId = request.context_id;
      const reply = (message: object) => socket.send(JSON.stringify({ ...message, context_id: contextId }));
      const format = request.output_format;
      const valid =
        typeof request.model_id === 'string' &&
        typeof request.transcript === 'string' &&
        request.voice?.mode === 'id' &&
        typeof request.voice.id === 'string' &&
        typeof contextId === 'string' &&
        format?.container === 'raw' &&
        format.encoding === 'pcm_s16le' &&
        typeof format.sample_rate === 'number';
      if (!valid) return reply({ type: 'error', done: true, status_code: 400, error_code: 'invalid_request', title: 'Invalid request', message: 'scripted' });
      if (behaviour === 'error') return reply({ type: 'error', done: true, status_code: 402, error_code: 'credits_exhausted', title: 'Out of credits', message: 'scripted' });
      const tone = toneBytes(Math.max(1, (request.transcript as string).trim().length) * this.msPerChar, format.sample_rate as number, CARTESIA_TONE_HZ);
      const chunk = 3001; // odd on purpose: a sample may straddle two chunks
      const send = (bytes: Buffer) => reply({ type: 'chunk', data: bytes.toString('base64'), done: false, status_code: 206, step_time: 12 });
      if (behaviour === 'drop') {
        send(tone.subarray(0, chunk));
        return socket.terminate();
      }
      if (behaviour === 'stall') return send(tone.subarray(0, chunk));
      for (let at = 0; at < tone.length; at += chunk) send(tone.subarray(at, at + chunk));
      reply({ type: 'done', done: true, status_code: 206 });
    });
  }
}
