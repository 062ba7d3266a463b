// Recording ingest load: the same concurrent SIPp calls into an IVR on a server with recording off, then on — the server's own
// event-loop lag p99 (prom-client's monitorEventLoopDelay, read from /metrics) and Node CPU per call, recorded vs unrecorded.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../test/helpers/server.js';
import { freeSipPort, startSipp } from '../test/helpers/sipp.js';
import { toneFile } from '../test/helpers/tone.js';
import { api, configureTrunk } from '../test/helpers/trunks.js';
import { children, cpuWindow, pct } from './proc-stats.js';
import { loggedThread, loopedPcap, waitLive } from './sip-load.js';
import { kib, row } from './stats.js';

const CALLS = Math.max(1, Number.parseInt(process.env.BENCH_RECORDING_CALLS ?? '', 10) || 20);
const WINDOW_MS = Math.max(2000, Number.parseInt(process.env.BENCH_RECORDING_WINDOW_MS ?? '', 10) || 10_000);
/** SIPp's call rate: under the SIP port's INVITE bucket (20/s per source address). */
const RATE = 10;
const NUMBER = '15550016';
const INGEST_WORKER = 'recording ingest worker';

type Closer = { close(): Promise<void> };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cpu {
  node: number;
  main: number;
  ingest: number;
  mediasoup: number;
}

interface Window {
  cpu: Cpu;
  /** The server's event-loop delay over the window (ms). */
  lagP99: number;
  lagMax: number;
}

export interface IngestFigures {
  recording: boolean;
  idle: Window;
  loaded: Window;
  /** Frame log bytes written per call (recording on), proof the packets reached the disk. */
  recordedBytesPerCall: number;
  ingestThread: boolean;
  problems: string[];
}

/** The server's event-loop lag gauges (prom-client resets its histogram at each scrape, so two scrapes bound a window). */
async function scrapeLag(server: RunningServer): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: gauge('nodejs_eventloop_lag_p99_seconds'), max: gauge('nodejs_eventloop_lag_max_seconds') };
}

async function measure(server: RunningServer, ingestTids: number[]): Promise<Window> {
  const pid = server.process.pid!;
  const workers = children(pid, 'mediasoup-worker');
  await scrapeLag(server);
  const window = cpuWindow({ groups: { node: [[pid]], main: [[pid, pid]], ingest: ingestTids.map((t) => [pid, t]), mediasoup: workers.map((p) => [p]) } });
  await sleep(WINDOW_MS);
  const lag = await scrapeLag(server);
  const { percent } = window.end();
  return { cpu: { node: percent.node!, main: percent.main!, ingest: percent.ingest!, mediasoup: percent.mediasoup! }, lagP99: lag.p99, lagMax: lag.max };
}

/** One server (recording on or off): an IVR behind a trunk number, a warm-up call, an idle window, then CALLS concurrent calls. */
async function runServer(recording: boolean, keep: (c: Closer) => void): Promise<IngestFigures> {
  const sipPort = await freeSipPort();
  const server = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_SIP_PORT: String(sipPort), ASTRAL_RECORDING: recording ? '1' : '0', LOG_LEVEL: 'info' });
  const dir = mkdtempSync(join(tmpdir(), 'astral-bench-rec-'));
  const closer = { close: async () => (await server.stop(), rmSync(dir, { recursive: true, force: true })) };
  keep(closer);
  const problems: string[] = [];
  try {
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), 600, 10)).toString('base64');
    const ivr = await api(server, 'POST', '/api/v1/ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': '1002' } });
    if (ivr.status !== 201) throw new Error(`IVR: ${ivr.status} ${JSON.stringify(ivr.body)}`);
    await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [{ number: NUMBER, destination: '6001', destination_type: 'ivr' }]);
    const call = { scenario: 'uac-call-pcap.xml', remote: `127.0.0.1:${sipPort}`, service: NUMBER, vars: { from: '+14155550123' } };
    await (await startSipp({ ...call, durationMs: 1500 })).done; // starts the relay (and ingest) workers the log then names
    await waitLive(server, 0, 10_000);
    const ingestTids = loggedThread(server, INGEST_WORKER);
    const idle = await measure(server, ingestTids);
    const rampMs = (CALLS / RATE) * 1000;
    const pcap = loopedPcap(dir, Math.ceil((rampMs + WINDOW_MS + 6000) / 7000) + 1);
    const sipp = await startSipp({ ...call, calls: CALLS, rate: RATE, durationMs: rampMs + WINDOW_MS + 4000, audioPcap: pcap, args: ['-l', String(CALLS)], timeoutS: 120 });
    try {
      if (!(await waitLive(server, CALLS, rampMs + 10_000))) problems.push(`not all ${CALLS} calls went live`);
      await sleep(1000);
      const loaded = await measure(server, ingestTids);
      const result = await sipp.done;
      if (result.stats.successful < CALLS) problems.push(`SIPp: ${result.stats.successful}/${CALLS} calls successful`);
      await waitLive(server, 0, 10_000);
      const recDir = join(server.dataDir, 'recordings');
      const files = recording ? readdirSync(recDir).map((f) => statSync(join(recDir, f)).size) : [];
      const recordedBytesPerCall = files.length > 1 ? files.reduce((s, b) => s + b, 0) / files.length : 0;
      return { recording, idle, loaded, recordedBytesPerCall, ingestThread: ingestTids.length > 0, problems };
    } finally {
      await sipp.stop();
    }
  } finally {
    await closer.close();
  }
}

export async function runRecordingIngest(out: (line?: string) => void, keep: (c: Closer) => void): Promise<void> {
  out(`Recording ingest (SIPp → trunk number → IVR, ${CALLS} concurrent calls (BENCH_RECORDING_CALLS), ${WINDOW_MS / 1000} s windows; one server with recording off, one with it on):`);
  const started = Date.now();
  const [off, on] = [await runServer(false, keep), await runServer(true, keep)];
  out(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out();
  out('Results');
  const perCall = (f: IngestFigures, k: keyof Cpu) => (f.loaded.cpu[k] - f.idle.cpu[k]) / CALLS;
  for (const f of [off, on]) {
    const name = f.recording ? 'recording on ' : 'recording off';
    out('  ' + row(`${name}: server event-loop lag, ${CALLS} calls`, `p99 ${f.loaded.lagP99.toFixed(1)} ms, max ${f.loaded.lagMax.toFixed(1)} ms (idle p99 ${f.idle.lagP99.toFixed(1)} ms)`));
    const ingest = f.ingestThread ? `, ingest worker ${pct(perCall(f, 'ingest'), 2)}` : '';
    out('  ' + row(`${name}: CPU per call (minus idle)`, `node ${pct(perCall(f, 'node'), 2)} (main ${pct(perCall(f, 'main'), 2)}${ingest}), mediasoup ${pct(perCall(f, 'mediasoup'), 2)}`));
    for (const p of f.problems) out(`      problem: ${p}`);
  }
  out('  ' + row('recorded / unrecorded', `lag p99 ${(on.loaded.lagP99 / off.loaded.lagP99).toFixed(2)}x; Node CPU per call ${(perCall(on, 'node') / perCall(off, 'node')).toFixed(2)}x, main thread ${(perCall(on, 'main') / perCall(off, 'main')).toFixed(2)}x`));
  out('  ' + row('frame log written per recorded call', kib(on.recordedBytesPerCall)));
  out('  Each SIP leg sends G.711 at 50 packets/s; recording taps it (the IVR prompt is not recorded). Lag: nodejs_eventloop_lag_p99/max_seconds');
  out('  scraped from the server\'s /metrics at the start and end of the window (prom-client resets its monitorEventLoopDelay histogram');
  out('  at each scrape; 10 ms resolution). CPU: /proc utime+stime, 100 % = one core; main = the Node main thread, node = every thread.');
}
