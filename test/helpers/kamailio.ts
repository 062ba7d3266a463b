// A real Kamailio (Debian's kamailio + websocket modules) on free ports, started and stopped by a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, freeUdpTcpPort } from './server.js';

/** The repo's tested configuration (SIP over WebSocket); its ports are `#!define`s the test overrides with `-A`. */
export const KAMAILIO_CFG = fileURLToPath(new URL('../kamailio/kamailio-ws.cfg', import.meta.url));

export interface Kamailio {
  /** ws://127.0.0.1:PORT, the SIP-over-WebSocket endpoint for sip.js. */
  wsUrl: string;
  /** The SIP domain to register in (`sip:USER@DOMAIN`). */
  domain: string;
  /** Where it listens for SIP over UDP and TCP on 127.0.0.1. */
  sipPort: number;
  /** Everything Kamailio logged (REQ lines name each request's method). */
  log(): string;
  /** Kills Kamailio (the WebSockets drop, registrations are forgotten). */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  /** Stops it for good and removes its run directory. */
  close(): Promise<void>;
}

/** Waits until nothing listens on `port` any more (the killed children have let go of it). */
async function waitPortFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts Kamailio with `cfg` (the WebSocket one by default), which listens on the `#!define`s `SIP_PORT` and `WS_PORT`. */
export async function startKamailio(cfg = KAMAILIO_CFG): Promise<Kamailio> {
  const [wsPort, sipPort] = [await freePort(), await freeUdpTcpPort()];
  const runDir = mkdtempSync(join(tmpdir(), 'astral-kamailio-'));
  let proc: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    const child = spawn(
      'kamailio',
      ['-DD', '-E', '-f', cfg, '-P', join(runDir, 'kamailio.pid'), '-Y', runDir, '-A', `WS_PORT=${wsPort}`, '-A', `SIP_PORT=${sipPort}`],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true }, // its own process group: stop() kills the forked children too
    );
    proc = child;
    const onData = (d: Buffer) => (output += d.toString());
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // Ready once every child process listens; the log's "INFO: <core> [main.c" line comes after binding.
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`kamailio did not start:\n${output.slice(-2000)}`)), 10_000);
      const check = () => {
        if (/listening on|tcp_main_loop|init_tcp|ws_/i.test(output) && child.exitCode === null) {
          clearTimeout(deadline);
          clearInterval(timer);
          setTimeout(resolve, 300);
        }
      };
      const timer = setInterval(check, 50);
      child.once('exit', (code) => {
        clearTimeout(deadline);
        clearInterval(timer);
        reject(new Error(`kamailio exited with ${code}:\n${output.slice(-2000)}`));
      });
    });
  };

  // SIGKILL to its process group, never SIGTERM: on SIGTERM Kamailio's main process now and then waits many seconds for
  // its children (3 runs in 40 here took over 8 s), which holds the test that waits for it.
  const stop = async () => {
    const child = proc;
    proc = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    });
  };

  await start();
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    domain: '127.0.0.1',
    sipPort,
    log: () => output,
    start,
    async stop() {
      await stop();
      await waitPortFree(wsPort);
    },
    async close() {
      await stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
