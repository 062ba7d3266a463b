// An ElevenLabs input-streaming TTS fake (wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/stream-input), from
// ElevenLabs' WebSocket docs: `xi-api-key` checked at the upgrade (401 otherwise), the opening message (text " "), text,
// the closing empty text; answers a tone as base64 PCM `audio` chunks (output_format pcm_16000) and `isFinal: true`.
// Scripted: an error message, a dropped connection mid-stream, a stall (audio, then nothing until the client goes), talk
// (tone paced in real time, never final, until the client goes); optionally with the service's time to the first byte
// and a handshake delay (the TLS + WebSocket handshake of a real connection).
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { refuseUpgrade, toneBytes, WebSocketFake } from './fake-server.js';

export const TONE_HZ = 1000;
const RATE = 16_000;

export interface TtsSession {
  voiceId: string;
  query: URLSearchParams;
  messages: { text?: string; flush?: boolean; voice_settings?: unknown }[];
  socket: WebSocket;
  closed: boolean;
  /** The audio was complete (`isFinal` sent) before the client closed. */
  finished: boolean;
  /** performance.now() of the upgrade, of the sentence's text arriving and of the first audio chunk sent. */
  connectedAt: number;
  textAt: number | null;
  firstAudioAt: number | null;
}

export type Behaviour = 'speak' | 'error' | 'drop' | 'stall' | 'talk';

/** 100 ms of 16 kHz PCM: the chunk `talk` sends every 100 ms. */
const TALK_CHUNK_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeElevenLabs extends WebSocketFake<TtsSession> {
  /** What the next sessions do (default: speak). */
  readonly behaviours: Behaviour[] = [];

  private constructor(
    private readonly apiKey: string,
    /** Tone per character of text (ms). */
    private readonly msPerChar: number,
    /** From the closing message to the first audio chunk (ms). */
    private readonly firstByteMs: number,
    /** From the upgrade request to its answer (ms). */
    private readonly connectMs: number,
  ) {
    super();
    this.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const match = /^\/v1\/text-to-speech\/([^/]+)\/stream-input$/.exec(url.pathname);
      if (!match) return refuseUpgrade(socket, 404);
      if (req.headers['xi-api-key'] !== this.apiKey) return refuseUpgrade(socket, 401);
      setTimeout(() => this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, match[1]!, url.searchParams)), this.connectMs);
    });
  }

  static async start(apiKey: string, msPerChar = 20, latency: { firstByteMs?: number; connectMs?: number } = {}): Promise<FakeElevenLabs> {
    return new FakeElevenLabs(apiKey, msPerChar, latency.firstByteMs ?? 0, latency.connectMs ?? 0).listen();
  }

  private accept(socket: WebSocket, voiceId: string, query: URLSearchParams): void {
    const session: TtsSession = { voiceId, query, messages: [], socket, closed: false, finished: false, connectedAt: performance.now(), textAt: null, firstAudioAt: null };
    this.sessions.push(session);
    const behaviour = this.behaviours.shift() ?? 'speak';
    let text = '';
    socket.on('close', () => (session.closed = true));
    socket.on('message', async (data: Buffer) => {
      const message = JSON.parse(data.toString()) as TtsSession['messages'][number];
      session.messages.push(message);
      if (session.messages.length === 1) return; // the opening message: a space and the voice settings
      session.textAt ??= performance.now();
      if (message.text) return void (text += message.text);
      // The closing message (empty text): the audio of everything sent.
      const tone = toneBytes(Math.max(1, text.trim().length) * this.msPerChar, RATE, TONE_HZ);
      const chunk = 3201; // odd on purpose: a sample may straddle two chunks, as on the real service
      if (this.firstByteMs > 0) await sleep(this.firstByteMs);
      if (session.closed) return;
      if (behaviour === 'error') return void socket.send(JSON.stringify({ message: 'scripted failure', error: 'quota_exceeded', code: 1008 }));
      const send = (bytes: Buffer) => {
        session.firstAudioAt ??= performance.now();
        socket.send(JSON.stringify({ audio: bytes.toString('base64'), isFinal: null, normalizedAlignment: null, alignment: null }));
      };
      if (behaviour === 'talk') {
        const piece = toneBytes(TALK_CHUNK_MS, RATE, TONE_HZ);
        const start = performance.now();
        for (let n = 0; !session.closed; n++) {
          send(piece);
          await sleep(start + (n + 1) * TALK_CHUNK_MS - performance.now());
        }
        return;
      }
      if (behaviour === 'drop') {
        send(tone.subarray(0, chunk));
        return socket.terminate();
      }
      if (behaviour === 'stall') return send(tone.subarray(0, chunk));
      for (let at = 0; at < tone.length; at += chunk) send(tone.subarray(at, at + chunk));
      socket.send(JSON.stringify({ isFinal: true }));
      session.finished = true;
    });
  }
}
