// What the vendor fakes share: an HTTP or WebSocket fake's server on a free loopback port, its URL and closing, a
// request's body, JSON answers, a refused WebSocket upgrade, and the sine tone they speak as 16-bit PCM.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** Listens on a free port of 127.0.0.1. */
async function listenLocally(server: Server): Promise<void> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
}

/** `http://` or `ws://` 127.0.0.1 and the listening server's port, then `path`. */
export const localUrl = (server: Server, scheme: 'http' | 'ws', path = ''): string => `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

/** Drops every connection (a stalled answer's too) and stops listening. */
async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A JSON answer (`contentType` for a vendor that names its charset). */
export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}, contentType = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': contentType, ...headers });
  res.end(JSON.stringify(body));
}

const REASONS = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' } as const;

/** Answers a WebSocket upgrade request with an HTTP error instead (an unknown path, a wrong key). */
export function refuseUpgrade(socket: Duplex, status: keyof typeof REASONS): void {
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Length: 0\r\n\r\n`);
}

/** `ms` of a `hz` sine at `rate` as 16-bit little-endian PCM. */
export function toneBytes(ms: number, rate: number, hz: number): Buffer {
  const samples = Math.round((rate * ms) / 1000);
  const bytes = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) bytes.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  return bytes;
}

/** An HTTP vendor fake: every request to `handle`; `listen` (its start) on a free loopback port. */
export abstract class HttpFake {
  protected readonly server = createServer((req, res) => void this.handle(req, res));

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  protected async listen(): Promise<this> {
    await listenLocally(this.server);
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }
}

/** A WebSocket vendor fake: plain requests 404, upgrades for the subclass to refuse or hand to `wss`; its sessions terminated on close. */
export abstract class WebSocketFake<Session extends { socket: WebSocket }> {
  readonly sessions: Session[] = [];
  protected readonly wss = new WebSocketServer({ noServer: true });
  protected readonly server = createServer((_req, res) => res.writeHead(404).end());

  protected async listen(): Promise<this> {
    await listenLocally(this.server);
    return this;
  }

  get url(): string {
    return localUrl(this.server, 'ws');
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.terminate();
    this.wss.close();
    await closeServer(this.server);
  }
}
