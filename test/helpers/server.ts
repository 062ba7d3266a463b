// Starts a real Astral server process for a test, on free ports with a throwaway data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

/** True when UDP and TCP ports `from`..`from + count - 1` on 127.0.0.1 are free now. */
async function portsFree(from: number, count: number): Promise<boolean> {
  const bind = (port: number) =>
    Promise.all([
      new Promise<boolean>((resolve) => {
        const srv = createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
      }),
      new Promise<boolean>((resolve) => {
        const socket = createSocket('udp4');
        socket.once('error', () => resolve(false));
        socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
      }),
    ]);
  for (let port = from; port < from + count; port++) if ((await bind(port)).includes(false)) return false;
  return true;
}

/** A port free for both UDP and TCP on 127.0.0.1 (a SIP peer listens on both). */
export async function freeUdpTcpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (await portsFree(port, 1)) return port;
  }
}

/** Where test servers' media ports go: below the kernel's ephemeral range (32768+), where an outgoing connection could hold a worker's fixed WebRtcServer port. */
const MEDIA_PORTS = { from: 10_000, to: 32_000 };
let nextMediaRange = -1;

/**
 * The first port of a free media range of `span` ports: ranges are handed out in turn from a random start, so servers of
 * one test process never share one, and a range whose first ports (the WebRtcServers') are taken is skipped.
 */
export async function freeMediaRange(span: number, workers = 4): Promise<number> {
  const ranges = Math.floor((MEDIA_PORTS.to - MEDIA_PORTS.from) / span);
  if (nextMediaRange < 0) nextMediaRange = Math.floor(Math.random() * ranges);
  for (let tried = 0; tried < ranges; tried++) {
    const from = MEDIA_PORTS.from + (nextMediaRange++ % ranges) * span;
    if (await portsFree(from, workers)) return from;
  }
  throw new Error('no free media port range for a test server');
}

export interface RunningServer {
  url: string;
  apiKey: string;
  dataDir: string;
  process: ChildProcess;
  /** Server output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerPlacement {
  /** Run the server inside this network namespace (`ip netns exec`), listening on `host`. */
  netns: string;
  host: string;
}

export async function startServer(env: Record<string, string> = {}, placement?: ServerPlacement): Promise<RunningServer> {
  const port = await freePort();
  const rtcMinPort = await freeMediaRange(1000);
  const dataDir = mkdtempSync(join(tmpdir(), 'astral-test-'));
  const apiKey = 'ak_test_' + Math.random().toString(36).slice(2).padEnd(16, 'x');
  const node = [process.execPath, '--import', 'tsx', 'packages/server/src/main.ts'];
  const [command, ...args] = placement ? ['ip', 'netns', 'exec', placement.netns, ...node] : node;
  const host = placement?.host ?? '127.0.0.1';
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: host,
      ASTRAL_DATA_DIR: dataDir,
      ASTRAL_BOOTSTRAP_API_KEY: apiKey,
      ASTRAL_LISTEN_IP: '127.0.0.1',
      ASTRAL_ANNOUNCED_IP: '127.0.0.1',
      ASTRAL_RTC_MIN_PORT: String(rtcMinPort),
      ASTRAL_RTC_MAX_PORT: String(rtcMinPort + 999),
      ASTRAL_WORKERS: '2',
      ASTRAL_SIP_PORT: '0', // SIP off unless a test turns it on with a free port
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    apiKey,
    dataDir,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Mints a widget token the way a site's backend would; returns the whole response body. */
export async function mintTokenBody(
  server: RunningServer,
  identity: string,
  extra: Record<string, unknown> = {},
): Promise<{ token: string; expires_at: string; user_id: string }> {
  const res = await fetch(`${server.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': server.apiKey },
    body: JSON.stringify({ identity, ...extra }),
  });
  if (res.status !== 201) throw new Error(`token mint failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { token: string; expires_at: string; user_id: string };
}

export const mintToken = async (server: RunningServer, identity: string, extra: Record<string, unknown> = {}): Promise<string> =>
  (await mintTokenBody(server, identity, extra)).token;
