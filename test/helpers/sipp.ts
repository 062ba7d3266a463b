// Runs SIPp (/usr/bin/sipp, Debian's sip-tester 3.6.1) as a carrier-side SIP peer for a test: one foreground process on
// free ports with its message/stat/error/log traces in a temp dir, parsed into what the peer sent and received.
// Scenarios live in test/sipp/ (see test/sipp/README.md).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDtmfPcap } from './rtp-capture.js';

export const SIPP_BIN = process.env.SIPP_BIN ?? '/usr/bin/sipp';
export const SIPP_DIR = fileURLToPath(new URL('../sipp/', import.meta.url));
export const G711A_PCAP = '/usr/share/sip-tester/g711a.pcap';

export interface SippOptions {
  /** A file name in test/sipp/ ("uac-call-pcap.xml") or a path. */
  scenario: string;
  /** Where a UAC sends its INVITE ("127.0.0.1:5060"); omit for a UAS. */
  remote?: string;
  /** SIP port SIPp binds (default: a free one). */
  localPort?: number;
  /** RTP port SIPp announces in its SDP and plays from (default: a free even one; SIPp also binds +2 for video). */
  mediaPort?: number;
  transport?: 'udp' | 'tcp';
  /** Request-URI user of a UAC's INVITE (-s): the Astral number. */
  service?: string;
  /** Credentials a UAC answers 401/407 with (-au/-ap); for a UAS pass vars.user/vars.pass. */
  auth?: { username: string; password: string };
  /** -set variables (the scenario must declare them in <Global variables=...>). */
  vars?: Record<string, string>;
  /** Calls to run before exiting, default 1 (a UAC: -m; a UAS: the harness stops it once that many ended). */
  calls?: number;
  /** Calls per second (-r), default 10. */
  rate?: number;
  /** -d: how long <pause/> lasts (the call length of the *-bye variants), default: the pcap played + 1 s. */
  durationMs?: number;
  /** Play this pcap instead of /usr/share/sip-tester/g711a.pcap (written into a copy of the scenario). */
  audioPcap?: string;
  /** DTMF digits (0-9*#A-D) to send as RFC 4733 events in the same RTP stream as the g711a audio, `dtmfAtMs` into it. */
  dtmf?: string;
  dtmfAtMs?: number;
  /** Payload type of the generated telephone-event packets (default 101, as the scenarios' SDP). */
  dtmfPt?: number;
  /** SIPp's global timeout (-timeout); the process is killed 5 s after it. Default 30. */
  timeoutS?: number;
  /** Extra SIPp arguments. */
  args?: string[];
}

export interface SipMessage {
  direction: 'sent' | 'received';
  transport: string;
  time: string;
  firstLine: string;
  /** Request method, or undefined for a response. */
  method?: string;
  /** Response status, or undefined for a request. */
  status?: number;
  cseq: { seq: number; method: string };
  callId: string;
  headers: Array<[string, string]>;
  body: string;
  raw: string;
  header(name: string): string | undefined;
}

export interface SippStats {
  created: number;
  successful: number;
  failed: number;
  /** Every column of the last line of the -trace_stat CSV. */
  raw: Record<string, string>;
}

export interface DigestCheck {
  header: 'Authorization' | 'Proxy-Authorization';
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  /** The response matches MD5 digest of (username, realm, password) — undefined when no password is known. */
  valid?: boolean;
}

export interface SippResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the harness after timeoutS + 5 s. */
  killed: boolean;
  stats: SippStats;
  messages: SipMessage[];
  /** Statuses of the responses SIPp received / sent, in order (100, 180, 200...). */
  receivedStatuses: number[];
  sentStatuses: number[];
  /** Methods of the requests SIPp received / sent, in order (retransmissions included). */
  receivedRequests: string[];
  sentRequests: string[];
  /** Last final (>= 200) status to an INVITE: the one SIPp received (UAC) or sent (UAS). */
  finalStatus?: number;
  callIds: string[];
  /** Digest credentials SIPp received in INVITEs, checked against vars.pass / auth.password. */
  auth: DigestCheck[];
  errors: string;
  /** stdout + stderr + errors log, for assertion messages. */
  log: string;
  dir: string;
}

export interface RunningSipp {
  /** SIP port SIPp is bound to. */
  port: number;
  mediaPort: number;
  host: string;
  /** "127.0.0.1:port", for a trunk's host/port. */
  address: string;
  done: Promise<SippResult>;
  stop(): Promise<SippResult>;
}

const HOST = '127.0.0.1';

const bindsUdp = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, HOST, () => s.close(() => resolve(true)));
  });
const bindsTcp = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });

/** A port free for both UDP and TCP on 127.0.0.1. */
export async function freeSipPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 21000 + Math.floor(Math.random() * 8000);
    if ((await bindsUdp(p)) && (await bindsTcp(p))) return p;
  }
  throw new Error('no free SIP port');
}

/** An even port with itself and the next three free for UDP (SIPp binds RTP/RTCP for audio and video). */
export async function freeMediaPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 30000 + 2 * Math.floor(Math.random() * 4000);
    let ok = true;
    for (let k = 0; k < 4 && ok; k++) ok = await bindsUdp(p + k);
    if (ok) return p;
  }
  throw new Error('no free media port');
}

/** Whether something listens on 127.0.0.1/0.0.0.0:port (from /proc/net). */
function listening(port: number, transport: 'udp' | 'tcp'): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of transport === 'udp' ? ['/proc/net/udp'] : ['/proc/net/tcp']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return true; // cannot tell: do not block
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local?.endsWith(':' + hex)) continue;
      if (transport === 'udp' || cols[3] === '0A') return true;
    }
  }
  return false;
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function authParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^\s*Digest\s+/i, '').matchAll(/([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))/g)) {
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return out;
}

/** Checks a received Digest credential the way a registrar would (RFC 2617, MD5, qop auth or none). */
export function checkDigest(method: string, value: string, password?: string): Omit<DigestCheck, 'header'> {
  const p = authParams(value);
  const base = { username: p.username ?? '', realm: p.realm ?? '', nonce: p.nonce ?? '', uri: p.uri ?? '' };
  if (password === undefined) return base;
  const ha1 = md5(`${base.username}:${base.realm}:${password}`);
  const ha2 = md5(`${method}:${base.uri}`);
  const expected = p.qop ? md5(`${ha1}:${base.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : md5(`${ha1}:${base.nonce}:${ha2}`);
  return { ...base, valid: expected === (p.response ?? '').toLowerCase() };
}

/** Parses SIPp's -trace_msg log into messages. */
export function parseMessageLog(text: string): SipMessage[] {
  const out: SipMessage[] = [];
  const parts = text.split(/^-{20,} (\d{4}-\d\d-\d\d [\d:.]+)\s*$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const time = parts[i]!;
    const block = parts[i + 1]!.replace(/^\r?\n/, '');
    const head = /^(\S+) message (sent|received)[^\n]*\n\n?/.exec(block);
    if (!head) continue;
    const raw = block.slice(head[0].length).replace(/^\s*\n/, '');
    const [headText = '', ...bodyParts] = raw.split(/\r?\n\r?\n/);
    const lines = headText.split(/\r?\n/).filter((l) => l.length > 0);
    const firstLine = (lines.shift() ?? '').trim();
    if (!firstLine) continue;
    const headers: Array<[string, string]> = [];
    for (const l of lines) {
      const c = l.indexOf(':');
      if (c > 0) headers.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
      else if (headers.length && /^\s/.test(l)) headers[headers.length - 1]![1] += ' ' + l.trim();
    }
    const header = (name: string): string | undefined => headers.find(([h]) => h.toLowerCase() === name.toLowerCase())?.[1];
    const statusMatch = /^SIP\/2\.0 (\d{3})/.exec(firstLine);
    const cseq = /^(\d+)\s+(\S+)/.exec(header('CSeq') ?? '');
    out.push({
      direction: head[2] as 'sent' | 'received',
      transport: head[1]!,
      time,
      firstLine,
      method: statusMatch ? undefined : firstLine.split(' ')[0],
      status: statusMatch ? Number(statusMatch[1]) : undefined,
      cseq: { seq: cseq ? Number(cseq[1]) : 0, method: cseq?.[2] ?? '' },
      callId: header('Call-ID') ?? header('i') ?? '',
      headers,
      body: bodyParts.join('\n\n').trim(),
      raw,
      header,
    });
  }
  return out;
}

function parseStats(csv: string): SippStats {
  const lines = csv.split('\n').filter((l) => l.trim());
  const names = (lines[0] ?? '').split(';');
  const values = (lines[lines.length - 1] ?? '').split(';');
  const raw: Record<string, string> = {};
  names.forEach((n, i) => (raw[n] = values[i] ?? ''));
  const num = (k: string) => Number(raw[k] ?? 0) || 0;
  return { created: num('TotalCallCreated'), successful: num('SuccessfulCall(C)'), failed: num('FailedCall(C)'), raw };
}

const readIf = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

/** Starts SIPp; resolves once a UAS listens (a UAC starts calling at once). */
export async function startSipp(opts: SippOptions): Promise<RunningSipp> {
  const transport = opts.transport ?? 'udp';
  const port = opts.localPort ?? (await freeSipPort());
  const mediaPort = opts.mediaPort ?? (await freeMediaPort());
  const dir = mkdtempSync(join(tmpdir(), 'astral-sipp-'));
  const src = isAbsolute(opts.scenario) ? opts.scenario : join(SIPP_DIR, opts.scenario);
  let xml = readFileSync(src, 'utf8');
  let pcap = opts.audioPcap;
  let pcapMs = 7100;
  if (opts.dtmf) {
    const built = buildDtmfPcap({ digits: opts.dtmf, atMs: opts.dtmfAtMs ?? 1000, pt: opts.dtmfPt ?? 101, audioPcap: pcap ?? G711A_PCAP });
    pcap = join(dir, 'audio-dtmf.pcap');
    writeFileSync(pcap, built.pcap);
    pcapMs = built.durationMs + 100;
  }
  if (pcap) {
    if (!xml.includes(G711A_PCAP)) throw new Error(`${opts.scenario} plays no ${G711A_PCAP} to replace`);
    xml = xml.split(G711A_PCAP).join(pcap);
  }
  const scenarioFile = join(dir, opts.scenario.replace(/^.*\//, ''));
  writeFileSync(scenarioFile, xml);
  const f = (n: string) => join(dir, n);
  const timeoutS = opts.timeoutS ?? 30;
  const args = [
    ...(opts.remote ? [opts.remote] : []),
    '-sf', scenarioFile,
    '-t', transport === 'tcp' ? 't1' : 'u1',
    '-i', HOST, '-p', String(port),
    '-mi', HOST, '-mp', String(mediaPort),
    // A UAS runs without -m: with -aa an out-of-call OPTIONS (Astral's keepalive) is answered 200 but counts towards
    // -m, so the harness ends a UAS itself once `calls` calls succeeded or failed (polling the -fd 1 stats).
    ...(opts.remote ? ['-m', String(opts.calls ?? 1)] : []),
    '-r', String(opts.rate ?? 10),
    '-d', String(opts.durationMs ?? pcapMs + 1000),
    '-aa', '-nostdin',
    '-timeout', `${timeoutS}s`,
    '-trace_msg', '-message_file', f('messages.log'),
    '-trace_err', '-error_file', f('errors.log'),
    '-trace_stat', '-stf', f('stats.csv'), '-fd', '1',
    '-trace_logs', '-log_file', f('logs.log'),
    '-trace_screen', '-screen_file', f('screen.log'),
  ];
  if (opts.service) args.push('-s', opts.service);
  if (opts.auth) args.push('-au', opts.auth.username, '-ap', opts.auth.password);
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push('-set', k, v);
  args.push(...(opts.args ?? []));

  const child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, (timeoutS + 5) * 1000);

  const calls = opts.calls ?? 1;
  let ending = false;
  const poller = opts.remote
    ? undefined
    : setInterval(() => {
        if (ending || child.exitCode !== null) return;
        const st = parseStats(readIf(f('stats.csv')));
        if (st.successful + st.failed >= calls) {
          ending = true;
          quit();
        }
      }, 200);
  /** SIGUSR1 twice: SIPp quits at once, writing its stats; SIGKILL if it does not. */
  const quit = () => {
    child.kill('SIGUSR1');
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGUSR1'), 300).unref();
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 3000).unref();
  };

  const password = opts.vars?.pass ?? opts.auth?.password;
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(killer);
      if (poller) clearInterval(poller);
      reject(new Error(`sipp did not start: ${err.message}`));
    });
    child.once('exit', (exitCode, signal) => {
      clearTimeout(killer);
      if (poller) clearInterval(poller);
      const messages = parseMessageLog(readIf(f('messages.log')));
      const errors = readIf(f('errors.log'));
      const stats = parseStats(readIf(f('stats.csv')));
      const responses = (d: 'sent' | 'received') => messages.filter((m) => m.direction === d && m.status !== undefined);
      const requests = (d: 'sent' | 'received') => messages.filter((m) => m.direction === d && m.method !== undefined);
      const finalOf = (d: 'sent' | 'received') =>
        responses(d).filter((m) => m.cseq.method === 'INVITE' && m.status! >= 200).pop()?.status;
      const isUac = !!opts.remote;
      const auth: DigestCheck[] = [];
      for (const m of requests('received')) {
        if (m.method !== 'INVITE') continue;
        for (const h of ['Authorization', 'Proxy-Authorization'] as const) {
          const v = m.header(h);
          if (v) auth.push({ header: h, ...checkDigest('INVITE', v, password) });
        }
      }
      const log = [
        `sipp ${args.join(' ')}`,
        `exit ${exitCode ?? signal}${killed ? ' (killed after timeout)' : ''}`,
        `--- output\n${out.slice(-6000)}`,
        `--- errors.log\n${errors.slice(-6000)}`,
        `--- messages (first lines)\n${messages.map((m) => `${m.direction === 'sent' ? '>>' : '<<'} ${m.firstLine}`).join('\n')}`,
      ].join('\n');
      const result: SippResult = {
        exitCode,
        signal,
        killed,
        stats,
        messages,
        receivedStatuses: responses('received').map((m) => m.status!),
        sentStatuses: responses('sent').map((m) => m.status!),
        receivedRequests: requests('received').map((m) => m.method!),
        sentRequests: requests('sent').map((m) => m.method!),
        finalStatus: isUac ? finalOf('received') : finalOf('sent'),
        callIds: [...new Set(messages.map((m) => m.callId).filter(Boolean))],
        auth,
        errors,
        log,
        dir,
      };
      // SIPp's own fatal errors (bad scenario, cannot bind): -1 / -2
      if (exitCode === 255 || exitCode === 254) reject(new Error(`sipp failed (${exitCode}):\n${log}`));
      else resolve(result);
    });
  });
  done.catch(() => {}); // observed by the caller; avoid an unhandled rejection if it is not

  if (!opts.remote) {
    const deadline = Date.now() + 5000;
    while (!listening(port, transport)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const r = await done.then((x) => x.log, (e: Error) => e.message);
        if (child.exitCode === null) child.kill('SIGKILL');
        throw new Error(`sipp UAS is not listening on ${port}/${transport}:\n${r}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    port,
    mediaPort,
    host: HOST,
    address: `${HOST}:${port}`,
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        ending = true;
        quit();
        await done.catch(() => {});
      }
      return done;
    },
  };
}

/** Throws (with SIPp's logs) unless the run matches: every call successful, and the given final status if any. */
export function expectSipp(r: SippResult, want: { successful?: number; finalStatus?: number } = {}): void {
  const problems: string[] = [];
  const successful = want.successful ?? 1;
  if (r.stats.successful !== successful) problems.push(`successful calls ${r.stats.successful}, want ${successful}`);
  if (r.stats.failed !== 0) problems.push(`failed calls ${r.stats.failed}`);
  if (want.finalStatus !== undefined && r.finalStatus !== want.finalStatus)
    problems.push(`final status ${r.finalStatus}, want ${want.finalStatus}`);
  if (r.killed) problems.push('killed after its timeout');
  if (problems.length) throw new Error(`sipp: ${problems.join('; ')}\n${r.log}`);
}

/** Removes a finished run's temp dir (keep it on failure for a post-mortem). */
export function cleanupSipp(r: SippResult): void {
  rmSync(r.dir, { recursive: true, force: true });
}
