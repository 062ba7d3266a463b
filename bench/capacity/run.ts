// `npm run bench:capacity`: ramps concurrent 1:1 werift calls against Astral (one mediasoup worker) and against the bare
// mediasoup relay (recording like a minimal mediasoup app, or not); per step: setup p50/p95, loss and jitter per receiver, server CPU (worker / Node, from /proc) and RSS,
// the load client's own CPU; then the highest clean N, CPU per call, Astral ÷ bare, and which side saturated.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cpuWindow, machine, mib, rssBytes, udpDrops } from '../proc-stats.js';
import { percentile } from '../stats.js';
import { ClientProcs } from './client-procs.js';
import type { ReceiverCounters } from './media.js';
import { startAstral, startBareRelay, type LoadTarget } from './targets.js';

const STEPS = (process.env.BENCH_CAPACITY_STEPS ?? '10,25,50,100,150').split(',').map(Number).filter((n) => n > 0);
const HOLD_MS = Math.max(3000, Number(process.env.BENCH_CAPACITY_HOLD_MS) || 10_000);
const PROCS = Math.max(1, Number(process.env.BENCH_CAPACITY_PROCS) || 2);
/** Calls each client process sets up at once. */
const SETUP_CONCURRENCY = Math.max(1, Number(process.env.BENCH_CAPACITY_CONCURRENCY) || 5);
/** BENCH_CAPACITY_TARGETS: any of astral (recording on, the default config), astral-norec, bare, bare-rec (bare + recording). */
const TARGETS = (process.env.BENCH_CAPACITY_TARGETS ?? 'astral,astral-norec,bare,bare-rec').split(',');
const LOSS_LIMIT = 0.005;
/** A client process this busy (% of one core; it is single-threaded) is the bottleneck, not the server. */
const CLIENT_SATURATED = 90;
const SETTLE_MS = 2000;

const out = (line = ''): void => void process.stdout.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Step {
  n: number;
  established: number;
  /** Failed setups so far (this step's and earlier ones'). */
  failed: number;
  /** Setup times of the calls this step added. */
  setupMs: number[];
  errors: string[];
  meanLoss: number;
  worstLoss: number;
  jitterP50: number;
  jitterP95: number;
  audioOk: number;
  worker: number;
  /** The Node process, all threads (recording ingest runs in a worker thread). */
  node: number;
  /** Its main thread: signalling and call control. */
  main: number;
  client: number;
  clientMax: number;
  machineBusy: number;
  /** Datagrams the kernel dropped on the worker's sockets / the load clients' sockets during the hold. */
  serverDrops: number;
  clientDrops: number;
  rss: number;
}

/** Share of all cores busy over a window, from /proc/stat. */
function machineBusy(): { end(): number } {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  return {
    end() {
      const b = read();
      return 1 - (b.idle - a.idle) / (b.total - a.total);
    },
  };
}

function losses(before: ReceiverCounters[], after: ReceiverCounters[]): number[] {
  return after.map((c, i) => {
    const b = before[i] ?? { received: 0, expected: 0 };
    const expected = c.expected - b.expected;
    return expected <= 0 ? 1 : Math.max(0, 1 - (c.received - b.received) / expected);
  });
}

async function cpuOf(target: LoadTarget, clientPids: number[], ms: number) {
  const workers = target.workerPids();
  const window = cpuWindow({
    groups: {
      worker: workers.map((p) => [p] as [number]),
      node: [[target.nodePid]],
      main: [[target.nodePid, target.nodePid]],
      ...Object.fromEntries(clientPids.map((p) => [`client${p}`, [[p] as [number]]])),
    },
  });
  const busy = machineBusy();
  const drops = [udpDrops(workers), udpDrops(clientPids)];
  await sleep(ms);
  const { percent } = window.end();
  const [serverDrops, clientDrops] = [udpDrops(workers) - drops[0]!, udpDrops(clientPids) - drops[1]!];
  const clients = clientPids.map((p) => percent[`client${p}`]!);
  return {
    worker: percent.worker!,
    node: percent.node!,
    main: percent.main!,
    client: clients.reduce((a, b) => a + b, 0),
    clientMax: Math.max(...clients),
    machineBusy: busy.end(),
    serverDrops,
    clientDrops,
    rss: rssBytes(target.nodePid) + workers.reduce((s, p) => s + rssBytes(p), 0),
  };
}

type Idle = Record<'worker' | 'node' | 'main', number>;
interface Ramp {
  steps: Step[];
  idle: Idle;
}

async function ramp(target: LoadTarget): Promise<Ramp> {
  const procs = await ClientProcs.start(PROCS, target.url, target.kind);
  const steps: Step[] = [];
  try {
    const idle = await cpuOf(target, procs.pids, 3000);
    let running = 0;
    let failedSoFar = 0;
    for (const n of STEPS) {
      const specs = await target.specs(running, n - running);
      const results = await procs.add(specs, SETUP_CONCURRENCY);
      running = n;
      await sleep(SETTLE_MS);
      const before = await procs.counters();
      const cpu = await cpuOf(target, procs.pids, HOLD_MS);
      const after = await procs.counters();
      const loss = losses(before, after);
      const tones = await procs.tones();
      const failed = results.filter((r) => r.error);
      failedSoFar += failed.length;
      const step: Step = {
        n,
        established: n - failedSoFar,
        failed: failedSoFar,
        setupMs: results.flatMap((r) => (r.setupMs === null ? [] : [r.setupMs])),
        errors: [...new Set(failed.map((r) => r.error!))].slice(0, 3),
        meanLoss: loss.reduce((a, b) => a + b, 0) / loss.length,
        worstLoss: Math.max(...loss),
        jitterP50: percentile(after.map((c) => c.jitterMs), 50),
        jitterP95: percentile(after.map((c) => c.jitterMs), 95),
        audioOk: tones.filter((t) => t.caller && t.callee && t.packets[0] > 0 && t.packets[1] > 0).length,
        ...cpu,
      };
      steps.push(step);
      out(`  [${target.label}] N=${n}: ${step.established} up, ${step.failed} failed, loss ${(step.meanLoss * 100).toFixed(2)} %, worker ${step.worker.toFixed(1)} %, node ${step.node.toFixed(1)} %, client ${step.client.toFixed(0)} % (max proc ${step.clientMax.toFixed(0)} %)${step.errors.length ? ` — ${step.errors.join('; ')}` : ''}`);
      if (step.failed > 0 || step.meanLoss >= LOSS_LIMIT || step.clientMax >= CLIENT_SATURATED) break;
    }
    return { steps, idle: { worker: idle.worker, node: idle.node, main: idle.main } };
  } finally {
    await procs.close();
  }
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const perCall = (s: Step, idle: Idle, key: keyof Idle) => (s[key] - idle[key]) / s.n;
const clean = (s: Step) => s.failed === 0 && s.meanLoss < LOSS_LIMIT;

function table(label: string, { steps, idle }: Ramp): void {
  out(`### ${label}`);
  out();
  out('| N calls | up | failed | setup p50 / p95 | loss mean / worst receiver | jitter p50 / p95 | audio both ways (tone) | worker CPU | Node CPU (main thread) | worker / call | Node / call | server RSS | client CPU (max proc) | machine busy | UDP drops server / client |');
  out('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of steps) {
    out(
      `| ${s.n} | ${s.established} | ${s.failed} | ${f1(percentile(s.setupMs, 50))} / ${f1(percentile(s.setupMs, 95))} ms | ${(s.meanLoss * 100).toFixed(2)} / ${(s.worstLoss * 100).toFixed(2)} % | ${f1(s.jitterP50)} / ${f1(s.jitterP95)} ms | ${s.audioOk}/${s.n} | ${f1(s.worker)} % | ${f1(s.node)} % (${f1(s.main)} %) | ${f3(perCall(s, idle, 'worker'))} % | ${f3(perCall(s, idle, 'node'))} % | ${mib(s.rss)} | ${s.client.toFixed(0)} % (${s.clientMax.toFixed(0)} %) | ${(s.machineBusy * 100).toFixed(0)} % | ${s.serverDrops} / ${s.clientDrops} |`,
    );
  }
  const best = steps.filter(clean).at(-1);
  out();
  out(`Idle server before the ramp: worker ${f1(idle.worker)} %, Node ${f1(idle.node)} % of a core (subtracted in the per-call columns).`);
  out(`Highest N at < ${LOSS_LIMIT * 100} % loss with no failed setups: ${best ? best.n : 'none'}.`);
  const last = steps.at(-1);
  if (last) {
    const side =
      last.clientMax >= CLIENT_SATURATED
        ? 'the load client saturated first (a client process at a full core)'
        : last.clientDrops > last.serverDrops
          ? `the load client saturated first (its sockets dropped ${last.clientDrops} datagrams, the worker's ${last.serverDrops})`
          : last.machineBusy > 0.95
            ? 'the machine ran out of CPU (load client and server share its cores)'
            : !clean(last)
              ? 'the server degraded (loss or failed setups) first'
              : 'nothing saturated within the steps run';
    out(`Stopped at N=${last.n}: ${side}.`);
  }
  out();
}

/** CPU per call of an Astral target against a bare relay target, at the highest N both ran clean. */
function compare(label: string, astral: Ramp, bareLabel: string, bare: Ramp): void {
  const n = Math.max(0, ...astral.steps.filter(clean).map((s) => s.n).filter((m) => bare.steps.some((b) => b.n === m && clean(b))));
  const a = astral.steps.find((s) => s.n === n);
  const b = bare.steps.find((s) => s.n === n);
  if (!a || !b) return out(`- ${label} ÷ ${bareLabel}: no step both ran clean`);
  const of = (s: Step, r: Ramp) => ({ worker: perCall(s, r.idle, 'worker'), node: perCall(s, r.idle, 'node'), offMain: perCall(s, r.idle, 'node') - perCall(s, r.idle, 'main') });
  const [x, y] = [of(a, astral), of(b, bare)];
  out(`- ${label} ÷ ${bareLabel} at N=${n} (machine busy ${(a.machineBusy * 100).toFixed(0)} / ${(b.machineBusy * 100).toFixed(0)} %): worker ${f3(x.worker)} vs ${f3(y.worker)} % of a core per call (${(x.worker / y.worker).toFixed(2)}×); worker + Node ${f3(x.worker + x.node)} vs ${f3(y.worker + y.node)} % → ${((x.worker + x.node) / (y.worker + y.node)).toFixed(2)}× (target ≤ 1.10×)`);
  if (bareLabel.includes('recording') && label.includes('recording on')) {
    out(`  Node off its main thread (recording ingest vs the minimal recorder, file writes included): ${f3(x.offMain)} vs ${f3(y.offMain)} % per call (${(x.offMain / y.offMain).toFixed(2)}×)`);
  }
  out(`  extrapolated: ${Math.floor(100 / x.worker)} calls (${Math.floor(400 / x.worker)} RTP streams) per worker core; ${Math.floor(100 / (x.worker + x.node))} calls per core counting Node (target ≥ 250 per worker core)`);
}

async function main(): Promise<void> {
  out(`## Capacity: concurrent 1:1 calls (werift load client, ${PROCS} processes; ${machine()})`);
  out();
  out(`Steps ${STEPS.join(', ')}; each held ${HOLD_MS / 1000} s; one mediasoup worker; Opus 20 ms both ways (4 RTP streams per call).`);
  out();
  const results = new Map<string, Ramp>();
  for (const name of TARGETS) {
    const target = name.startsWith('bare') ? await startBareRelay(name === 'bare-rec') : await startAstral(name === 'astral');
    try {
      results.set(target.label, await ramp(target));
    } finally {
      await target.stop();
    }
    table(target.label, results.get(target.label)!);
  }
  const bares = [...results].filter(([label]) => label.startsWith('bare'));
  if (bares.length === 0) return;
  out('### Astral ÷ bare mediasoup, CPU per call (highest N both ran clean)');
  out();
  for (const [label, astral] of results) {
    if (label.startsWith('bare')) continue;
    // Astral with recording off against the bare relay without it; with recording on against both (only + recording is like for like).
    for (const [bareLabel, bare] of bares) if (label.includes('recording on') || !bareLabel.includes('recording')) compare(label, astral, bareLabel, bare);
  }
  out();
  out(`${cpus().length} cores are shared by the load client and the server: the per-call figures are the primary result.`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
