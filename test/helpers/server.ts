// Starts a real Astral server process for a test, on free ports with a throwaway data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  // Media ports below the kernel's ephemeral range (32768+), where an outgoing connection could hold a worker's WebRtcServer port.
  const rtcMinPort = 10000 + Math.floor(Math.random() * 21000);
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
