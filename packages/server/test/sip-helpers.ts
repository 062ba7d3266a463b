// Test helpers for the SIP layer: a capturing logger, a started agent, SIPp runs, a raw UDP/TCP SIP client.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import { SipUserAgent, type SipUserAgentTuning } from '../src/sip/user-agent.js';
import { freeUdpTcpPort } from '../../../test/helpers/server.js';

/** A port free for both UDP and TCP on 127.0.0.1 (for SIPp peers). */
export const freePort = freeUdpTcpPort;

export const SIPP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sipp');

export interface LogLine {
  level: string;
  obj: unknown;
  msg: string;
}

export function captureLogger(lines: LogLine[] = []): FastifyBaseLogger & { lines: LogLine[] } {
  const rec =
    (level: string) =>
    (a: unknown, b?: string): void => {
      if (typeof a === 'string') lines.push({ level, obj: {}, msg: a });
      else lines.push({ level, obj: a, msg: b ?? '' });
    };
  const log = {
    lines,
    level: 'debug',
    trace: rec('trace'),
    debug: rec('debug'),
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
    fatal: rec('fatal'),
    silent: () => undefined,
    child: () => log,
  };
  return log as unknown as FastifyBaseLogger & { lines: LogLine[] };
}

export async function startUa(tuning: SipUserAgentTuning = {}, log = captureLogger()): Promise<{ ua: SipUserAgent; log: typeof log }> {
  const ua = await SipUserAgent.start({ ip: '127.0.0.1', port: 0, announcedIp: '127.0.0.1', ...tuning }, log);
  return { ua, log };
}

function listening(port: number, tcp: boolean): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const text = readFileSync(tcp ? '/proc/net/tcp' : '/proc/net/udp', 'utf8');
  return text.split('\n').some((l) => l.includes(`0100007F${hex}`) && (!tcp || / 0A /.test(l)));
}

export interface SippRun {
  done: Promise<{ code: number | null; errors: string }>;
  kill(): void;
}

/** Runs SIPp (one call) with a scenario from test/sipp (or a built-in `-sn`); resolves when it exits. */
export function sipp(args: string[], opts: { timeoutS?: number } = {}): SippRun {
  const cwd = mkdtempSync(join(tmpdir(), 'astral-sipp-'));
  const child = spawn('/usr/bin/sipp', ['-m', '1', '-nostdin', '-trace_err', '-timeout', `${opts.timeoutS ?? 15}`, '-timeout_error', '-max_recv_loops', '1000', ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; errors: string }>((resolve) => {
    child.on('exit', (code) => {
      let errors = stderr;
      for (const f of readdirSync(cwd)) if (f.endsWith('_errors.log')) errors += readFileSync(join(cwd, f), 'utf8');
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, errors });
    });
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

/** Starts a SIPp UAS on a free port and waits until it listens. */
export async function sippServer(scenario: string, extra: string[] = [], tcp = false): Promise<SippRun & { port: number }> {
  const port = await freePort();
  const run = sipp(['-sf', scenario.startsWith('/') ? scenario : join(SIPP_DIR, scenario), '-i', '127.0.0.1', '-p', String(port), ...(tcp ? ['-t', 't1'] : []), ...extra]);
  await waitListening(port, tcp);
  return { ...run, port };
}

/** Waits (up to 5 s) until something listens on 127.0.0.1:port (UDP, or TCP). */
async function waitListening(port: number, tcp: boolean): Promise<void> {
  for (let i = 0; i < 200 && !listening(port, tcp); i++) await new Promise((r) => setTimeout(r, 25));
}

export const sippScenario = (name: string): string => join(SIPP_DIR, name);

/** A raw SIP client over UDP: send text, wait for messages matching a predicate. */
export class RawUdp {
  readonly socket = dgram.createSocket('udp4');
  readonly received: string[] = [];
  private waiters: { pred: (m: string) => boolean; resolve: (m: string) => void }[] = [];

  static async open(): Promise<RawUdp> {
    const r = new RawUdp();
    await new Promise<void>((res) => r.socket.bind(0, '127.0.0.1', () => res()));
    r.socket.on('message', (d) => {
      const m = d.toString('latin1');
      r.received.push(m);
      for (const w of [...r.waiters]) {
        if (w.pred(m)) {
          r.waiters.splice(r.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    return r;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(port: number, data: string | Buffer): Promise<void> {
    return new Promise((res) => this.socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, '127.0.0.1', () => res()));
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  wait(pred: (m: string) => boolean, timeoutMs = 5000): Promise<string> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no matching SIP message')), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  close(): void {
    this.socket.close();
  }
}

let seq = 0;
/** A minimal INVITE / OPTIONS from a raw client. */
export function rawRequest(method: string, o: { port: number; localPort: number; callId?: string; branch?: string; user?: string; body?: string; transport?: 'UDP' | 'TCP'; extra?: string }): string {
  const body = o.body ?? '';
  const n = ++seq;
  return [
    `${method} sip:${o.user ?? '100'}@127.0.0.1:${o.port} SIP/2.0`,
    `Via: SIP/2.0/${o.transport ?? 'UDP'} 127.0.0.1:${o.localPort};branch=${o.branch ?? `z9hG4bK-raw-${n}-${Math.random().toString(36).slice(2)}`};rport`,
    `From: <sip:raw@127.0.0.1:${o.localPort}>;tag=raw${n}`,
    `To: <sip:${o.user ?? '100'}@127.0.0.1:${o.port}>`,
    `Call-ID: ${o.callId ?? `raw-${n}-${Math.random().toString(36).slice(2)}`}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:raw@127.0.0.1:${o.localPort}>`,
    'Max-Forwards: 70',
    ...(o.extra ? [o.extra] : []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}

export const statusOf = (m: string): number => Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1] ?? 0);
export const header = (m: string, name: string): string | null =>
  new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(m)?.[1]?.trim() ?? null;

export const OFFER = 'v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n';
export const ANSWER = 'v=0\r\no=astral 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n';

export const until = <T>(emitter: { once(ev: string, cb: (...a: any[]) => void): unknown }, ev: string): Promise<any[]> =>
  new Promise((r) => emitter.once(ev, (...a: unknown[]) => r(a)));

/** A copy of a scenario with `[name]` placeholders filled in (SIPp wants literal response codes). */
export function scenarioWith(name: string, values: Record<string, string>): string {
  let text = readFileSync(join(SIPP_DIR, name), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.split(`[${k}]`).join(v);
  const dir = mkdtempSync(join(tmpdir(), 'astral-scenario-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A response to a raw request (copies Via/From/To/Call-ID/CSeq; adds a To tag). */
export function responseTo(rq: string, status: number, reason: string, extra = '', body = ''): string {
  const h = (n: string) => `${n}: ${header(rq, n) ?? ''}`;
  const to = header(rq, 'To') ?? '';
  return [
    `SIP/2.0 ${status} ${reason}`,
    h('Via'),
    h('From'),
    `To: ${to}${/;tag=/.test(to) ? '' : ';tag=rawtag'}`,
    h('Call-ID'),
    h('CSeq'),
    ...(extra ? [extra] : []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}
