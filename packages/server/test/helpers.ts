// In-process test server on a free port with its own data dir (and, with ASTRAL_TEST_DIALECT=postgres, its own PostgreSQL database) and an admin bootstrap key.
import { mkdtempSync, rmSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createServer, type AstralServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { freshPostgresDatabase } from './postgres.js';
import { freeMediaRange } from '../../../test/helpers/server.js';

export const ADMIN_KEY = 'ak_admin_test_key_0123456789';

export interface TestServer {
  server: AstralServer;
  url: string;
  dataDir: string;
  /** Stops the server and keeps its data (a second server can start on it). */
  stop(): Promise<void>;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

/** ASTRAL_TEST_DIALECT=postgres: every test server's store is a fresh PostgreSQL database, kept with its data dir for restarts. */
const onPostgres = process.env.ASTRAL_TEST_DIALECT === 'postgres';
const databaseOfDataDir = new Map<string, string>();

/** The PostgreSQL database of the test servers on `dataDir` (ASTRAL_TEST_DIALECT=postgres); undefined on SQLite. */
export const postgresDatabaseOf = (dataDir: string): string | undefined => databaseOfDataDir.get(dataDir);

/** A 500-port media range of its own for a test server (see freeMediaRange). */
async function rtcPorts(): Promise<{ ASTRAL_RTC_MIN_PORT: string; ASTRAL_RTC_MAX_PORT: string }> {
  const min = await freeMediaRange(500);
  return { ASTRAL_RTC_MIN_PORT: String(min), ASTRAL_RTC_MAX_PORT: String(min + 499) };
}

export async function startTestServer(env: Record<string, string> = {}, dataDir = mkdtempSync(join(tmpdir(), 'astral-server-test-'))): Promise<TestServer> {
  if (onPostgres && env.ASTRAL_DATABASE_URL === undefined) {
    if (!databaseOfDataDir.has(dataDir)) databaseOfDataDir.set(dataDir, await freshPostgresDatabase());
    env = { ASTRAL_DATABASE_URL: databaseOfDataDir.get(dataDir)!, ...env };
  }
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ASTRAL_DATA_DIR: dataDir,
    ASTRAL_BOOTSTRAP_API_KEY: ADMIN_KEY,
    ASTRAL_WORKERS: '1',
    ASTRAL_LISTEN_IP: '127.0.0.1',
    ASTRAL_SIP_PORT: '0', // SIP off unless a test turns it on with a free port
    // Each server its own media ports: a worker's WebRtcServer holds the range's first port, so two servers of one test
    // process (or of tests running side by side) must not share a range.
    ...(await rtcPorts()),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const server = await createServer(config);
  const port = await server.listen();
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    stop: () => server.close(),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function api(
  t: TestServer,
  method: string,
  path: string,
  { key, body, headers = {} }: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(t.url + path, {
    method,
    headers: {
      ...(key ? { 'x-api-key': key } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function createKey(t: TestServer, name: string, permissions: string[]): Promise<string> {
  const { ApiKeyService } = await import('../src/auth/api-keys.js');
  const { key } = await new ApiKeyService(t.server.store.apiKeys).create(t.server.instanceId, name, permissions as never);
  return key;
}

export type Ack = { ok: boolean; data?: Record<string, string>; error?: { code: string; message: string } };

/** A widget's gateway connection for `identity` that rings (acks call:incoming) like a real widget; closed by `close()`. */
export async function widgetSocket(t: TestServer, identity: string, extra: Record<string, unknown> = {}): Promise<Socket> {
  const { body } = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity, ...extra } });
  const socket = io(t.url, { auth: { token: body.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('call:incoming', (_d: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: {} }));
  await new Promise((resolve) => socket.once('session:ready', resolve));
  return socket;
}

/** Sends a client event and waits for its ack. */
export const ackRequest = (s: Socket, event: string, payload: unknown) => s.timeout(5000).emitWithAck(event, payload) as Promise<Ack>;

/**
 * One test server for a whole test file: started before its tests (handed to `started`; `env`, or what `env()` gives then,
 * is its environment), closed after them once the widget sockets the tests put in the returned list are disconnected.
 */
export function serverForFile(started: (t: TestServer) => void, env: Record<string, string> | (() => Promise<Record<string, string>>) = {}): Socket[] {
  let server: TestServer | undefined;
  const sockets: Socket[] = [];
  before(async () => started((server = await startTestServer(typeof env === 'function' ? await env() : env))));
  after(async () => {
    for (const s of sockets) s.disconnect();
    await server?.close();
  });
  return sockets;
}
