// What the capacity bench loads: an Astral server process (one mediasoup worker; widget tokens minted over REST as the
// tests do) or the bare mediasoup relay process (recording or not); each with the pids whose CPU and memory count as the server's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, mintToken, startServer } from '../../test/helpers/server.js';
import { children } from '../proc-stats.js';
import type { CallSpec, Target } from './calls.js';

export interface LoadTarget {
  kind: Target;
  label: string;
  url: string;
  nodePid: number;
  workerPids(): number[];
  /** Caller/callee credentials for calls number `from` to `from + count - 1`. */
  specs(from: number, count: number): Promise<CallSpec[]>;
  stop(): Promise<void>;
}

const RELAY = fileURLToPath(new URL('./bare-relay.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function startAstral(recording: boolean): Promise<LoadTarget> {
  const server = await startServer({ ASTRAL_WORKERS: '1', ASTRAL_RATE_LIMIT: '0', ASTRAL_RECORDING: recording ? '1' : '0' });
  const pid = server.process.pid!;
  return {
    kind: 'astral',
    label: `Astral, recording ${recording ? 'on' : 'off'}`,
    url: server.url,
    nodePid: pid,
    workerPids: () => children(pid, 'mediasoup-worker'),
    async specs(from, count) {
      const specs: CallSpec[] = [];
      for (let i = from; i < from + count; i++) {
        const calleeIdentity = `cap-${i}-b`;
        specs.push({ caller: await mintToken(server, `cap-${i}-a`), callee: await mintToken(server, calleeIdentity), calleeIdentity });
      }
      return specs;
    },
    stop: () => server.stop(),
  };
}

export async function startBareRelay(record: boolean): Promise<LoadTarget> {
  const [port, rtcPort] = [await freePort(), 10000 + Math.floor(Math.random() * 21000)]; // media ports below the ephemeral range
  const child = spawn(process.execPath, ['--import', 'tsx', RELAY], { cwd: ROOT, env: { ...process.env, PORT: String(port), RTC_PORT: String(rtcPort), RECORD: record ? '1' : '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare relay exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
  });
  const pid = child.pid!;
  return {
    kind: 'bare',
    label: record ? 'bare mediasoup relay + recording' : 'bare mediasoup relay',
    url: `http://127.0.0.1:${port}`,
    nodePid: pid,
    workerPids: () => children(pid, 'mediasoup-worker'),
    specs: async (_from, count) => Array.from({ length: count }, () => ({ caller: null, callee: null, calleeIdentity: '' })),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
