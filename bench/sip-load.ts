// SIP trunk load rows: CPU, RSS and event-loop lag per concurrent trunk call — SIPp calls into an IVR or an AI agent (product
// path, server child process), and the in-process relay harness with G.711 vs Opus producers feeding the SIP legs (transcoding).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, writeRtpPcap } from '../test/helpers/rtp-capture.js';
import { startServer, type RunningServer } from '../test/helpers/server.js';
import { freeSipPort, G711A_PCAP, startSipp } from '../test/helpers/sipp.js';
import { toneFile } from '../test/helpers/tone.js';
import { api, configureTrunk } from '../test/helpers/trunks.js';
import { children, cpuWindow, mib, pct, rssBytes, threads } from './proc-stats.js';
import { startRelayHarness, type LoadFigures } from './sip-relay.js';
import { percentile, row } from './stats.js';

const SIZES = (process.env.BENCH_SIP_LOAD ?? '10,50').split(',').map((n) => Number.parseInt(n, 10)).filter((n) => n > 0);
const WINDOW_MS = Math.max(2000, Number.parseInt(process.env.BENCH_SIP_WINDOW_MS ?? '', 10) || 8000);
/** SIPp's call rate: under the SIP port's INVITE bucket (20/s per source address). */
const RATE = 10;
const HEALTHZ_EVERY_MS = 20;
const IVR_NUMBER = '15550006';
const AGENT_NUMBER = '15550007';
/** Concurrent calls of the agent rows (BENCH_AGENT_LOAD). */
const AGENT_SIZES = (process.env.BENCH_AGENT_LOAD ?? '10').split(',').map((n) => Number.parseInt(n, 10)).filter((n) => n > 0);

type Closer = { close(): Promise<void> };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** g711a.pcap (7 s) repeated `times` times as one continuous stream (same SSRC, running sequence numbers and timestamps). */
export function loopedPcap(dir: string, times: number): string {
  const packets = parsePcap(readFileSync(G711A_PCAP));
  const t0 = packets[0]!.time;
  const spanMs = packets[packets.length - 1]!.time - t0 + 30;
  const records: { timeUs: number; rtp: Uint8Array }[] = [];
  const seq0 = Buffer.from(packets[0]!.payload).readUInt16BE(2);
  let index = 0;
  for (let k = 0; k < times; k++) {
    for (const p of packets) {
      const rtp = Buffer.from(p.payload);
      rtp.writeUInt16BE((seq0 + index++) & 0xffff, 2);
      rtp.writeUInt32BE((rtp.readUInt32BE(4) + k * spanMs * 8) >>> 0, 4);
      records.push({ timeUs: (p.time - t0 + k * spanMs) * 1000, rtp });
    }
  }
  const file = join(dir, `g711a-x${times}.pcap`);
  writeFileSync(file, writeRtpPcap(records));
  return file;
}

/** /healthz round trips every 20 ms until stopped: the child server's event-loop lag as seen from outside. */
function healthzSampler(server: RunningServer): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await fetch(`${server.url}/healthz`).then((r) => r.arrayBuffer(), () => undefined);
      samples.push(performance.now() - t0);
      await sleep(Math.max(0, HEALTHZ_EVERY_MS - (performance.now() - t0)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Calls in progress: the live legs' distinct calls (a call to the agent has two legs, the SIP caller's and the agent's). */
async function liveCalls(server: RunningServer): Promise<number> {
  const res = await api(server, 'GET', '/api/v1/calls/live');
  return Array.isArray(res.body) ? new Set((res.body as { linkedid: string }[]).map((leg) => leg.linkedid)).size : -1;
}

export async function waitLive(server: RunningServer, n: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await liveCalls(server)) === n) return true;
    await sleep(250);
  }
  return false;
}

/** Where SIPp calls: the server's SIP port, the trunk number, and the worker threads whose CPU is counted apart. */
interface LoadTarget {
  sipPort: number;
  number: string;
  relayTids: number[];
  agentTids: number[];
}

/** SIPp places `calls` concurrent inbound calls to the number (G.711 out, the carrier's g711a in); one window of figures. */
async function trunkWindow(server: RunningServer, target: LoadTarget, calls: number, pcap: string): Promise<LoadFigures> {
  const { sipPort, relayTids, agentTids } = target;
  const problems: string[] = [];
  const rampMs = (calls / RATE) * 1000;
  const sipp =
    calls > 0
      ? await startSipp({
          scenario: 'uac-call-pcap.xml',
          remote: `127.0.0.1:${sipPort}`,
          service: target.number,
          vars: { from: '+14155550123' },
          calls,
          rate: RATE,
          durationMs: rampMs + WINDOW_MS + 3000,
          audioPcap: pcap,
          args: ['-l', String(calls)],
          timeoutS: 120,
        })
      : null;
  try {
    if (sipp && !(await waitLive(server, calls, rampMs + 10_000))) problems.push(`only ${await liveCalls(server)} of ${calls} calls went live`);
    await sleep(1000);
    const pid = server.process.pid!;
    const workers = children(pid, 'mediasoup-worker');
    const window = cpuWindow({
      groups: { mediasoup: workers.map((p) => [p]), main: [[pid, pid]], relay: relayTids.map((t) => [pid, t]), agent: agentTids.map((t) => [pid, t]), node: [[pid]] },
    });
    const sampler = healthzSampler(server);
    await sleep(WINDOW_MS);
    const lag = await sampler.stop();
    const w = window.end();
    const figures: LoadFigures = {
      calls,
      cpu: { mediasoup: w.percent.mediasoup!, main: w.percent.main!, relay: w.percent.relay!, ...(agentTids.length ? { agent: w.percent.agent! } : {}), node: w.percent.node! },
      rss: { node: rssBytes(pid), mediasoup: workers.reduce((s, p) => s + rssBytes(p), 0) },
      lag: { p50: percentile(lag, 50), p99: percentile(lag, 99), max: Math.max(...lag) },
      lagHow: `GET /healthz round trip from the bench process every ${HEALTHZ_EVERY_MS} ms`,
      toCarrierPps: NaN,
      transcodedPps: NaN,
      seconds: w.seconds,
      problems,
    };
    if (sipp) {
      const result = await sipp.done;
      if (result.stats.successful < calls) problems.push(`SIPp: ${result.stats.successful}/${calls} calls successful, ${result.stats.failed} failed`);
    }
    if (!(await waitLive(server, 0, 10_000))) problems.push('calls were still live 10 s after SIPp hung up');
    return figures;
  } finally {
    await sipp?.stop();
  }
}

/** The thread a server's log names for a worker (`"threadId":N … <name>`), if it is one of the process's threads. */
export function loggedThread(server: RunningServer, name: string): number[] {
  const named = new RegExp(`"threadId":([0-9]+)[^\\n]*${name}`).exec(server.output());
  return named && threads(server.process.pid!).includes(Number(named[1])) ? [Number(named[1])] : [];
}

/**
 * A server with a trunk whose number goes to `destination`; a warm-up call starts the worker threads the log then names; an
 * idle window, then one per size.
 */
async function trunkRows(keep: (c: Closer) => void, number: { number: string; destination: string; destination_type: string }, sizes: number[], setup: (server: RunningServer) => Promise<void>): Promise<LoadFigures[]> {
  const sipPort = await freeSipPort();
  const server = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_SIP_PORT: String(sipPort), LOG_LEVEL: 'info' });
  const dir = mkdtempSync(join(tmpdir(), 'astral-bench-sip-'));
  const closer = { close: async () => (await server.stop(), rmSync(dir, { recursive: true, force: true })) };
  keep(closer);
  try {
    await setup(server);
    await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [number]);
    const longest = Math.max(...sizes);
    const pcap = loopedPcap(dir, Math.ceil(((longest / RATE) * 1000 + WINDOW_MS + 4000) / 7000) + 1);
    const warm = await startSipp({ scenario: 'uac-call-pcap.xml', remote: `127.0.0.1:${sipPort}`, service: number.number, vars: { from: '+14155550123' }, durationMs: 1500 });
    await warm.done;
    await waitLive(server, 0, 10_000);
    const target: LoadTarget = { sipPort, number: number.number, relayTids: loggedThread(server, 'RTP relay worker'), agentTids: loggedThread(server, 'agent audio worker') };
    const out = [await trunkWindow(server, target, 0, pcap)];
    for (const n of sizes) out.push(await trunkWindow(server, target, n, pcap));
    return out;
  } finally {
    await closer.close();
  }
}

/** SIPp into an IVR: a G.711 prompt toward each SIP leg, no transcoding. */
function ivrRows(keep: (c: Closer) => void): Promise<LoadFigures[]> {
  return trunkRows(keep, { number: IVR_NUMBER, destination: '6001', destination_type: 'ivr' }, SIZES, async (server) => {
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), 600, 10)).toString('base64');
    const ivr = await api(server, 'POST', '/api/v1/ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': '1002' } });
    if (ivr.status !== 201) throw new Error(`IVR: ${ivr.status} ${JSON.stringify(ivr.body)}`);
  });
}

/**
 * SIPp into the built-in agent: the caller's speech (g711a.pcap) decoded, listened to (VAD, pocketsphinx per utterance) and
 * answered (espeak-ng, barge-in) in the agent audio worker; the agent's G.711 voice back toward each SIP leg.
 */
export function agentRows(keep: (c: Closer) => void): Promise<LoadFigures[]> {
  return trunkRows(keep, { number: AGENT_NUMBER, destination: 'akylai', destination_type: 'ai_agent' }, AGENT_SIZES, async () => undefined);
}

const perCall = (loaded: number, idle: number, n: number) => (n > 0 ? (loaded - idle) / n : NaN);

/** Rows for one configuration: an idle window, then one per size. */
export function rows(title: string, figures: LoadFigures[], showPps: boolean): string[] {
  const [idle, ...loaded] = figures;
  const lines = [title];
  const agent = (v: number | undefined) => (v === undefined ? '' : `, agent ${pct(v)}`);
  const cpuLine = (f: LoadFigures) =>
    `mediasoup ${pct(f.cpu.mediasoup).padStart(7)}   node ${pct(f.cpu.node).padStart(7)} (main ${pct(f.cpu.main)}, relay ${pct(f.cpu.relay)}${agent(f.cpu.agent)})`;
  const lagLine = (f: LoadFigures) => `lag p50 ${f.lag.p50.toFixed(1)} ms  p99 ${f.lag.p99.toFixed(1)} ms  max ${f.lag.max.toFixed(1)} ms`;
  const rss = (f: LoadFigures) => `RSS node ${mib(f.rss.node)}, mediasoup ${mib(f.rss.mediasoup)}`;
  lines.push('  ' + row('  idle (no calls), CPU % of one core', cpuLine(idle!)));
  lines.push('  ' + row('', `${rss(idle!)};  ${lagLine(idle!)}`));
  for (const f of loaded) {
    lines.push('  ' + row(`  ${f.calls} concurrent calls, CPU % of one core`, cpuLine(f)));
    const c = (k: keyof LoadFigures['cpu']) => pct(perCall(f.cpu[k] ?? NaN, idle!.cpu[k] ?? NaN, f.calls), 2);
    const agentPerCall = f.cpu.agent === undefined ? '' : `, agent ${c('agent')}`;
    lines.push('  ' + row('    per call (minus idle)', `mediasoup ${c('mediasoup').padStart(7)}   node ${c('node').padStart(7)} (main ${c('main')}, relay ${c('relay')}${agentPerCall})`));
    lines.push('  ' + row('', `${rss(f)};  ${lagLine(f)}`));
    if (showPps) lines.push('  ' + row('', `to the carrier ${f.toCarrierPps.toFixed(1)} packets/s per call, ${f.transcodedPps.toFixed(1)} of them transcoded from Opus`));
    for (const p of f.problems) lines.push(`      problem: ${p}`);
  }
  return lines;
}

export async function runSipLoad(out: (line?: string) => void, keep: (c: Closer) => void): Promise<void> {
  out(`  ${SIZES.join(' / ')} concurrent calls (BENCH_SIP_LOAD), ${WINDOW_MS / 1000} s windows (BENCH_SIP_WINDOW_MS) once every call is up:`);
  const started = Date.now();
  const ivr = await ivrRows(keep);
  out(`  IVR via SIPp done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const harness = await startRelayHarness();
  keep(harness);
  const relay: Record<'PCMA' | 'opus', LoadFigures[]> = { PCMA: [], opus: [] };
  try {
    for (const codec of ['PCMA', 'opus'] as const) {
      relay[codec].push(await harness.measure(0, codec, WINDOW_MS));
      for (const n of SIZES) relay[codec].push(await harness.measure(n, codec, WINDOW_MS));
    }
  } finally {
    await harness.close();
  }
  out(`  relay harness done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out();
  out('Results');
  for (const line of rows('  (1) SIPp (uac-call-pcap.xml, -l N) → trunk number → IVR, no transcoding: G.711 prompt → SIP leg, carrier g711a → SIP leg producer', ivr, false)) out(line);
  out(`      server: child process (ASTRAL_WORKERS=2, recording on as by default); lag: ${ivr[0]!.lagHow} (idle = the floor).`);
  out();
  for (const line of rows('  (2) relay harness, G.711 producer → N SIP legs (PCMA prompt per call; carrier PCMA both ways): no transcoding', relay.PCMA, true)) out(line);
  out();
  for (const line of rows('  (3) relay harness, Opus producer → N SIP legs (Opus prompt per call): the relay worker decodes Opus → PCMA', relay.opus, true)) out(line);
  out(`      harness: MediaService + 2 mediasoup workers in this process; carriers in a child process; lag: ${relay.opus[0]!.lagHow}.`);
  out();
  out('  CPU: utime+stime from /proc/<pid>/stat (mediasoup-worker children) and /proc/<pid>/task/<tid>/stat (Node main thread; relay =');
  out('  the thread the server logs for its RTP relay worker in (1), the threads that appeared with the first SIP leg in (2)/(3)),');
  out('  100 % = one core; "node" is the whole Node process (all its threads).');
  out('  Per call = (loaded - idle) / N. SIPp and the harness carrier run in other processes and are not counted, but share the 2 cores.');
  out('  RSS: VmRSS at the end of the window (the Node heap grows and shrinks with GC, so differences of a few MiB are noise).');
}
