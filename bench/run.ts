// Benchmark entry (`npm run bench`): widget bundle size, dial-to-ring, answer-to-first-audio, ring fan-out, region-move audio gap, mouth-to-ear latency, SIP trunk setup and load, AI voice agents, recording ingest under load, memory per idle widget, recording render, call history at 1M calls.
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/helpers/browser.js';
import { PhonePage } from '../test/helpers/phone.js';
import { mintToken, startServer, type RunningServer } from '../test/helpers/server.js';
import { startSite, type Site } from '../test/helpers/site.js';
import { toneFile } from '../test/helpers/tone.js';
import { bundleRows } from './bundle.js';
import { LIST_TARGET_MS, runCallHistory, STATS_TARGET_MS } from './call-history.js';
import { DIALECTS, type TestDialect } from '../packages/server/test/postgres.js';
import { runBaseline, runCalls, type Phones } from './calls.js';
import { runAgentSection } from './agents.js';
import { runRecordingRender } from './recording.js';
import { runRecordingIngest } from './recording-ingest.js';
import { runWidgetMemory } from './widget-memory.js';
import { runSipSection } from './sip.js';
import { FANOUT_SIZES, runFanout, WARMUP_ROUNDS } from './fanout.js';
import { NODE_FANOUT_SIZES, runFanoutAcrossNodes } from './fanout-nodes.js';
import { POLL_MS, preparePage } from './probes.js';
import { GAP_TARGET_MS, MOVE_REGIONS, runRegionMove } from './region-move.js';
import { runMouthToEar } from './mouth-to-ear.js';
import { latencyRow, percentile, row } from './stats.js';

const ALICE_HZ = 440;
const BOB_HZ = 1000;
const CALLS = Math.max(1, Number.parseInt(process.env.BENCH_CALLS ?? '', 10) || 20);
const RINGS = Math.max(1, Number.parseInt(process.env.BENCH_RINGS ?? '', 10) || 30);
const MOVES = Math.max(1, Number.parseInt(process.env.BENCH_MOVES ?? '', 10) || 12);
const PULSES = Math.max(1, Number.parseInt(process.env.BENCH_PULSES ?? '', 10) || 40);
/** BENCH_ONLY=latency runs mouth-to-ear latency alone. */
const ONLY_LATENCY = process.env.BENCH_ONLY === 'latency';
/** BENCH_SKIP_CALLS=1 skips the browser sections (calls, fan-out, region move), e.g. to iterate on call history. */
const SKIP_CALLS = process.env.BENCH_SKIP_CALLS === '1';
/** BENCH_SKIP_SIP=1 skips the SIP trunk section; BENCH_ONLY=sip runs nothing else. */
const ONLY_SIP = process.env.BENCH_ONLY === 'sip';
const SKIP_SIP = process.env.BENCH_SKIP_SIP === '1' && !ONLY_SIP;
/** BENCH_SKIP_AGENTS=1 skips the AI voice agents section; BENCH_ONLY=agents runs nothing else. */
const ONLY_AGENTS = process.env.BENCH_ONLY === 'agents';
const SKIP_AGENTS = process.env.BENCH_SKIP_AGENTS === '1' && !ONLY_AGENTS;
/** BENCH_SKIP_RECORDING=1 skips recording ingest under load; BENCH_ONLY=recording runs it (and the idle widget memory row) alone. */
const ONLY_RECORDING = process.env.BENCH_ONLY === 'recording';
const SKIP_RECORDING = process.env.BENCH_SKIP_RECORDING === '1' && !ONLY_RECORDING;
const HISTORY_ROWS = Math.max(1000, Number.parseInt(process.env.BENCH_HISTORY_ROWS ?? '', 10) || 1_000_000);
const HISTORY_REQUESTS = Math.max(50, Number.parseInt(process.env.BENCH_HISTORY_REQUESTS ?? '', 10) || 100);
/** BENCH_ONLY=nodes runs the ring fan-out across two nodes (Redis + PostgreSQL) alone. */
const ONLY_NODES = process.env.BENCH_ONLY === 'nodes';
/** BENCH_ONLY=history runs call history alone, on SQLite and then PostgreSQL (ASTRAL_TEST_DATABASE_URL, else a throwaway cluster). */
const ONLY_HISTORY = process.env.BENCH_ONLY === 'history';
/** BENCH_HISTORY_DIALECT=sqlite or postgres runs call history on that dialect alone. */
const HISTORY_DIALECTS = DIALECTS.filter((d) => (process.env.BENCH_HISTORY_DIALECT ?? d) === d);
/** BENCH_HISTORY_DATABASE_URL: a PostgreSQL database for call history kept between runs (seeded while empty, then reused). */
const HISTORY_DATABASE_URL = process.env.BENCH_HISTORY_DATABASE_URL || undefined;
/** The whole run is abandoned (and cleaned up) after this long (call history gets 4 minutes per database of it, the SIP section 4). */
const WATCHDOG_MS = Math.max(60_000, Number.parseInt(process.env.BENCH_TIMEOUT_MS ?? '', 10) || 300_000 + 2 * 240_000 + (SKIP_SIP ? 0 : 240_000) + (SKIP_AGENTS ? 0 : 240_000) + (SKIP_RECORDING ? 0 : 150_000) + 60_000);

const out = (line = ''): void => void process.stdout.write(line + '\n');

let server: RunningServer | undefined;
let site: Site | undefined;
const browsers: Browser[] = [];
/** What the later sections opened (pages, a second server and site), closed last-in first-out. */
const closers: { close(): Promise<void> }[] = [];

async function cleanup(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c.close().catch(() => undefined);
  await Promise.allSettled(browsers.splice(0).map((b) => b.close()));
  await site?.close().catch(() => undefined);
  site = undefined;
  await server?.stop().catch(() => undefined);
  server = undefined;
}

/** Ring fan-out with the widget sockets split over two nodes (the bot rings through node A). */
async function nodeFanoutSection(): Promise<void> {
  out(`Ring fan-out across two nodes (Redis + PostgreSQL, 1 worker each; bot rings through node A), 100 sockets on node A, then ${NODE_FANOUT_SIZES.join(' / ')} sockets alternating A, B:`);
  const lines = await runFanoutAcrossNodes(RINGS, out, (c) => void closers.push(c));
  out();
  out('Results');
  for (const line of lines) out('  ' + line);
  out();
  out("  Half of each ring's sockets are on node B: node A sends their call:incoming requests as one batched bus message to node B,");
  out("  which moves each session's media to node A (the call's node), emits the rings in one step and returns the acks (batched");
  out('  per turn, each answering its own request); the call:ended notes of stop-ringing travel the same way.');
}

async function main(): Promise<void> {
  out(`Astral benchmark — node ${process.version}, ${cpus().length} CPUs, ${CALLS} calls (BENCH_CALLS), ${RINGS} rings per size (BENCH_RINGS), ${MOVES} region moves (BENCH_MOVES), ASTRAL_WORKERS=2`);
  out();
  if (ONLY_SIP) {
    await runSipSection(out, (c) => void closers.push(c));
    return;
  }
  if (ONLY_AGENTS) {
    await runAgentSection(out, (c) => void closers.push(c));
    return;
  }
  if (ONLY_HISTORY) {
    await runHistorySection();
    return;
  }
  if (ONLY_LATENCY) {
    server = await startServer({ ASTRAL_WORKERS: '2' });
    site = await startSite(server.url);
    const browser = await launchBrowser(toneFile(join(tmpdir(), 'astral-fixtures'), ALICE_HZ));
    browsers.push(browser);
    await mouthToEarSection(browser);
    return;
  }
  if (ONLY_NODES) {
    await nodeFanoutSection();
    return;
  }
  if (ONLY_RECORDING) {
    await runRecordingIngest(out, (c) => void closers.push(c));
    out();
    await runWidgetMemory(out, (c) => void closers.push(c));
    return;
  }
  out('Widget bundle');
  for (const line of bundleRows()) out('  ' + line);
  out();

  if (SKIP_CALLS) out('Calls, ring fan-out and region move: skipped (BENCH_SKIP_CALLS=1)');
  else await browserSections();
  await cleanup(); // browsers, pages and servers of those sections would compete for the CPU with the next one
  out();

  await nodeFanoutSection();
  await cleanup();
  out();

  if (SKIP_SIP) out('SIP trunk: skipped (BENCH_SKIP_SIP=1)');
  else await runSipSection(out, (c) => void closers.push(c));
  await cleanup();
  out();

  if (SKIP_AGENTS) out('AI voice agents: skipped (BENCH_SKIP_AGENTS=1)');
  else await runAgentSection(out, (c) => void closers.push(c));
  await cleanup();
  out();

  if (SKIP_RECORDING) out('Recording ingest: skipped (BENCH_SKIP_RECORDING=1)');
  else await runRecordingIngest(out, (c) => void closers.push(c));
  await cleanup();
  out();

  await runWidgetMemory(out, (c) => void closers.push(c));
  await cleanup();
  out();

  await runRecordingRender(out);
  out();

  await runHistorySection();
}

async function runHistorySection(): Promise<void> {
  const results: [TestDialect, string[]][] = [];
  for (const dialect of HISTORY_DIALECTS) {
    out(`Call history on ${dialect} (GET /api/v1/calls, /calls/count, /calls/stats over loopback HTTP; in-process server, ${HISTORY_ROWS.toLocaleString('en-US')} calls, ${HISTORY_REQUESTS} requests per row):`);
    results.push([dialect, await runCallHistory(dialect, HISTORY_ROWS, HISTORY_REQUESTS, out, (c) => void closers.push(c), HISTORY_DATABASE_URL)]);
    await cleanup();
    out();
  }
  for (const [dialect, lines] of results) {
    out(`Results: call history on ${dialect}`);
    for (const line of lines) out('  ' + line);
    out();
  }
  out(`  Targets: list and count p99 <= ${LIST_TARGET_MS} ms, stats p99 <= ${STATS_TARGET_MS} ms. Sequential requests with the X-API-Key of an admin key,`);
  out('  timed from fetch() to the parsed JSON body in this process (which also runs the server); 5 warm-up requests per row.');
  out('  A year of a contact centre: 55 % inbound / 35 % outbound / 10 % internal, 80 agent extensions, 150,000 customer numbers,');
  out('  office-hours bias; "matching" is the mean total/count per request. Counts and stats add up per-day counters kept by');
  out('  triggers; deep pages seek to their day through them; search goes through a trigram index (SQLite: FTS5; PostgreSQL:');
  out('  pg_trgm GIN, on a throwaway cluster with fsync off unless ASTRAL_TEST_DATABASE_URL names a server).');
}

async function browserSections(): Promise<void> {
  const fixtures = join(tmpdir(), 'astral-fixtures');
  server = await startServer({ ASTRAL_WORKERS: '2', ASTRAL_RING_TIMEOUT: '60' });
  site = await startSite(server.url);
  const [aliceBrowser, bobBrowser] = await Promise.all([launchBrowser(toneFile(fixtures, ALICE_HZ)), launchBrowser(toneFile(fixtures, BOB_HZ))]);
  browsers.push(aliceBrowser, bobBrowser);
  const tokens = {
    alice: await mintToken(server, 'alice', { display_name: 'Alice', extension: '1001' }),
    bob: await mintToken(server, 'bob', { display_name: 'Bob', extension: '1002' }),
  };
  const open = async (name: keyof Phones): Promise<PhonePage> => {
    const phone = await PhonePage.open(name === 'alice' ? aliceBrowser : bobBrowser, site!.url, server!.url, tokens[name]);
    await phone.waitState('ready', 15_000);
    await preparePage(phone.page);
    return phone;
  };
  const phones: Phones = { alice: await open('alice'), bob: await open('bob') };
  out(`Chromium ${aliceBrowser.version()} (headless), alice mic ${ALICE_HZ} Hz, bob mic ${BOB_HZ} Hz; server ${server.url}`);
  out();

  const baseline = await runBaseline(phones.alice, CALLS);

  out(`Calls (alice dials 'bob', bob answers once ringing, alice hangs up):`);
  const started = Date.now();
  const calls = await runCalls(phones, CALLS, open, (line) => out(line));
  out(`  ${calls.completed}/${CALLS} calls completed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out();

  const rtt = percentile(baseline.samples, 50);
  const ratio = (samples: number[]): string =>
    Number.isFinite(rtt) && samples.length ? `${(percentile(samples, 50) / rtt).toFixed(1)}x baseline p50` : '';
  const { calleeHears: callee, callerHears: caller } = calls;
  out('Results');
  const rows: [string, number[], string?][] = [
    ['baseline: call(unknown) → rejected          [A]', baseline.samples, 'one signaling round trip + DB lookup'],
    ['dial ack: call() → promise resolved         [A]', calls.dialAck, ratio(calls.dialAck)],
    ['dial-to-ring (caller ringing)               [A]', calls.callerRinging, `target p50 <= 20 ms (${percentile(calls.callerRinging, 50) <= 20 ? 'met' : 'missed'}); ${ratio(calls.callerRinging)}`],
    ['dial-to-ring (callee incoming)            [A→B]', calls.calleeIncoming, ratio(calls.calleeIncoming)],
    ['answer-to-audio, callee hears caller:', []],
    ['  first RTP, getStats() packetsReceived     [B]', callee.stats],
    ['  first frame, RTCRtpReceiver sync source   [B]', callee.frame],
    ['  (consume offer applied)                   [B]', callee.offer],
    ['answer-to-audio, caller hears callee:', []],
    ['  first RTP, getStats() packetsReceived   [B→A]', caller.stats],
    ['  first frame, RTCRtpReceiver sync source [B→A]', caller.frame],
    ['  (consume offer applied)                 [B→A]', caller.offer],
  ];
  for (const [label, samples, note] of rows) out('  ' + (label.endsWith(':') ? label : latencyRow(label, samples, note)));
  out();
  out('  [A] alice (caller) page, [B] bob (callee) page: performance.now() within that one page.');
  out('  [A→B], [B→A]: Date.now() at the start in one browser, at the end in the other (same machine, 1 ms resolution).');
  out('  dial-to-ring starts at call(); answer-to-audio at the callee\'s answer(). Both phones are back to \'ready\' between calls.');
  out(`  first RTP: polled every ${POLL_MS} ms, but Chromium caches getStats() results for ~50 ms, so it can lag by up to that much.`);
  out(`  first frame: RTCRtpReceiver.getSynchronizationSources() of the remote stream's receiver (uncached), polled every ${POLL_MS} ms.`);
  const failures = [...baseline.failures, ...calls.failures];
  out('  ' + row('failures', failures.length === 0 ? 'none' : String(failures.length)));
  for (const f of failures) out('    ' + f);
  out();

  out(`Ring fan-out (bot: POST /api/v1/channels/:id/call/ring → call:incoming on every connected widget socket), ${FANOUT_SIZES.join(' / ')} sockets:`);
  const fanout = await runFanout(server, RINGS, out);
  out();
  out('Results');
  for (const line of fanout) out('  ' + line);
  out();
  out('  Widgets are node socket.io-client sockets in this process (one clock: performance.now()), each acking call:incoming {ok: true}.');
  out('  A channel holds at most 10 recipients and the ringing bot is one of them, so at most 9 users are rung: 100 sockets');
  out('  means 9 users with 11-12 open widget sockets each (the server rings every socket of a user).');
  out(`  Per size: ${WARMUP_ROUNDS} warm-up rings, then each ring → wait for every socket's call:incoming → stop-ringing all → the bot's CALL_DELETE.`);
  out('  Per-socket latency includes this process handling the other sockets\' frames first; p99 of last-socket is its max below 100 rings.');
  out();

  out(`Region move audio gap (own server: 2 workers, regions ${MOVE_REGIONS.map((r) => `${r.id} = worker ${r.workers.join()}`).join(', ')}):`);
  out(`  ana (${ALICE_HZ} Hz mic) and ben (${BOB_HZ} Hz mic) joinChannel() one channel call; a bot PATCHes /channels/:id/call {region}, alternating:`);
  const move = await runRegionMove({ a: aliceBrowser, b: bobBrowser }, MOVES, (c) => void closers.push(c), out);
  out();
  out('Results');
  for (const line of move) out('  ' + line);
  out();
  out('  Both pages poll, every 5 ms, every RTCRtpReceiver of the remote stream on every RTCPeerConnection the page made');
  out('  (a move rebuilds the transports): a frame = a new rtpTimestamp in getSynchronizationSources(); getStats = a');
  out('  packetsReceived increment (Chromium caches stats ~50 ms). Times: performance.timeOrigin + performance.now(), in node for');
  out('  the PATCH, in the page for packets (same machine). "flowing again" = first packet on a receiver that appeared after the');
  out(`  PATCH; "gap" = the longest interval without a packet from the last one before the PATCH to that one (target <= ${GAP_TARGET_MS} ms).`);
  out();
  await mouthToEarSection(aliceBrowser);
}

async function mouthToEarSection(browser: Browser): Promise<void> {
  out(`Mouth-to-ear latency on loopback (${PULSES} pulses, BENCH_PULSES; two pages of one Chromium calling each other through the server):`);
  const rows = await runMouthToEar(browser, server!, site!, PULSES, (c) => void closers.push(c));
  out();
  out('Results');
  for (const line of rows) out('  ' + line);
  out();
  out('  A 100 ms 1 kHz pulse is played into A\'s steerable microphone (WebAudio, test/helpers/mic.ts) every 0.7 s; B\'s page');
  out('  timestamps the first sample above 0.05 after >= 150 ms of quiet in the remote track (ScriptProcessor, 256 frames =');
  out('  5.3 ms resolution). Clock: performance.timeOrigin + performance.now() in both pages. Includes capture, Opus encode,');
  out('  the SFU, the jitter buffer and decode; not a loudspeaker or sound card (headless Chromium has neither). "A hears its');
  out('  own mic": the same detector on the mouth page\'s own microphone track (capture + detection, no network), part of the');
  out('  figure above; the jitter buffer grows with the machine\'s load (audio threads scheduled late look like network jitter).');
}

const watchdog = setTimeout(() => {
  out(`benchmark harness: gave up after ${WATCHDOG_MS / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  process.stderr.write(`benchmark harness failed: ${(err as Error).stack ?? String(err)}\n`);
  if (server) process.stderr.write(`server output:\n${server.output()}\n`);
} finally {
  await cleanup();
}
process.exit(code);
