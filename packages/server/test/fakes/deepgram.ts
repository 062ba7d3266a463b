// A Deepgram live-transcription fake (wss://api.deepgram.com/v1/listen), from Deepgram's streaming docs: `Authorization:
// Token <key>` checked at the upgrade (401 otherwise), binary linear16 audio in, `Results` (interim, is_final, speech_final)
// out as scripted by the test, `CloseStream` answered with `Metadata` and a close; a scripted drop closes mid-stream.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface DeepgramSession {
  query: URLSearchParams;
  socket: WebSocket;
  /** Bytes of audio received. */
  audioBytes: number;
  closeStream: boolean;
  closed: boolean;
}

export class FakeDeepgram {
  readonly sessions: DeepgramSession[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly server = createServer((_req, res) => res.writeHead(404).end());

  private constructor(private readonly apiKey: string) {
    this.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/v1/listen') return socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      if (req.headers.authorization !== `Token ${this.apiKey}`) return socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, url.searchParams));
    });
  }

  static async start(apiKey: string): Promise<FakeDeepgram> {
    const fake = new FakeDeepgram(apiKey);
    fake.server.listen(0, '127.0.0.1');
    await once(fake.server, 'listening');
    return fake;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handedOut = 0;

  /** The next session not yet handed out, once it has received `bytes` of audio. */
  async session(bytes = 0): Promise<DeepgramSession> {
    for (;;) {
      const next = this.sessions[this.handedOut];
      if (next && next.audioBytes >= bytes) {
        this.handedOut++;
        return next;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A `Results` message as Deepgram streams it. */
  results(session: DeepgramSession, transcript: string, opts: { isFinal: boolean; speechFinal?: boolean }): void {
    session.socket.send(
      JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration: 1.0,
        start: 0,
        is_final: opts.isFinal,
        speech_final: opts.speechFinal ?? false,
        channel: { alternatives: [{ transcript, confidence: 0.98, words: [] }] },
        metadata: { request_id: 'fake', model_info: { name: 'nova-3', version: 'fake', arch: 'fake' }, model_uuid: 'fake' },
        from_finalize: false,
      }),
    );
  }

  /** The connection drops mid-stream (no close frame). */
  drop(session: DeepgramSession): void {
    session.socket.terminate();
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.terminate();
    this.wss.close();
    await new Promise((r) => this.server.close(r));
  }

  private accept(socket: WebSocket, query: URLSearchParams): void {
    const session: DeepgramSession = { query, socket, audioBytes: 0, closeStream: false, closed: false };
    this.sessions.push(session);
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return void (session.audioBytes += data.length);
      const message = JSON.parse(data.toString()) as { type?: string };
      if (message.type === 'CloseStream') {
        session.closeStream = true;
        socket.send(JSON.stringify({ type: 'Metadata', transaction_key: 'deprecated', request_id: 'fake', sha256: '', created: new Date().toISOString(), duration: 0, channels: 1 }));
        socket.close(1000);
      }
    });
    socket.on('close', () => (session.closed = true));
  }
}
