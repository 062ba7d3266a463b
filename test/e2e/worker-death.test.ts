// End to end: a mediasoup worker is SIGKILLed under a live call between two widgets; the call's media moves to the live
// worker (the region-move path), both sides hear each other again, /healthz and /readyz recover, and new calls work.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, afterEach, before, describe, test } from 'node:test';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const ALICE_HZ = 440;
const BOB_HZ = 1000;
const TOLERANCE_HZ = 25;

let stage: Stage;
let server: RunningServer;
const tokens: Record<string, string> = {};

/** The server process's mediasoup worker children. */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(server.process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('mediasoup-work'))
    .map((l) => Number.parseInt(l.trim(), 10));
}

/** Router dumps through /metrics: producers on each worker index. */
async function producersPerWorker(): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^astral_mediasoup_producers\{worker="(\d+)"\} (\d+)$/gm)) counts[m[1]!] = Number(m[2]);
  return counts;
}

async function until(what: string, check: () => Promise<boolean>, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`gave up waiting for ${what}`);
}

/** Listens in short windows until the far side's tone is back. */
async function hearsAgain(phone: PhonePage, hz: number): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const heard = await phone.heardAudio(300).catch(() => null);
    if (heard && heard.rms > 0.01 && Math.abs(heard.peakHz - hz) < TOLERANCE_HZ) return;
  }
  await phone.expectTone(hz, TOLERANCE_HZ); // fails with what it heard
}

/** Packets keep arriving: inbound RTP grows between two samples taken a tone-check apart. */
async function assertInboundRtp(phone: PhonePage, hz: number): Promise<void> {
  const before = await phone.stats();
  await phone.expectTone(hz, TOLERANCE_HZ);
  const after = await phone.stats();
  assert.ok(after.packetsReceived! > before.packetsReceived!, `inbound RTP must flow: ${JSON.stringify({ before, after })}`);
}

/** Server log lines (pino JSON) about media rebuilt after a worker died. */
function rebuildLines(): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    })
    .filter((l) => l.msg === 'media rebuilt after its mediasoup worker died');
}

async function connectedCall(caller: PhonePage, callee: PhonePage, to: string): Promise<string> {
  const callId = (await caller.invoke('call', to)) as string;
  await callee.waitState('incoming');
  await callee.invoke('answer');
  await Promise.all([caller.waitState('in-call'), callee.waitState('in-call')]);
  return callId;
}

describe('a mediasoup worker dies mid-call', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { alice: ALICE_HZ, bob: BOB_HZ }, env: { ASTRAL_WORKERS: '2', LOG_LEVEL: 'info' } });
    server = stage.server;
    tokens.alice = await mintToken(server, 'alice', { display_name: 'Alice', extension: '1001' });
    tokens.bob = await mintToken(server, 'bob', { display_name: 'Bob', extension: '1002' });
  });

  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('the call moves to the live worker, audio returns both ways, health recovers and a new call works', async (t) => {
    const [alice, bob] = [await stage.phone('alice', tokens.alice!), await stage.phone('bob', tokens.bob!)];
    const callId = await connectedCall(alice, bob, 'bob');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);

    // Each widget's transports sit on their own worker (least-loaded placement): every worker carries this call.
    const perWorker = await producersPerWorker();
    assert.deepEqual(Object.keys(perWorker).sort(), ['0', '1'], `two workers: ${JSON.stringify(perWorker)}`);
    assert.ok(Object.values(perWorker).every((n) => n > 0), `the call's media is on both workers: ${JSON.stringify(perWorker)}`);
    const pids = workerPids();
    assert.equal(pids.length, 2, 'the server runs two mediasoup workers');

    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');
    await Promise.all([hearsAgain(alice, BOB_HZ), hearsAgain(bob, ALICE_HZ)]);
    t.diagnostic(`audio back on both sides ${Date.now() - killedAt} ms after the worker was killed`);

    assert.equal(await alice.state(), 'in-call');
    assert.equal(await bob.state(), 'in-call');
    assert.deepEqual([...(await alice.events('astral-call-ended')), ...(await bob.events('astral-call-ended'))], [], 'nobody saw the call end');
    await Promise.all([assertInboundRtp(alice, BOB_HZ), assertInboundRtp(bob, ALICE_HZ)]);

    const lines = rebuildLines();
    assert.ok(lines.some((l) => l.callId === callId && typeof l.legId === 'string'), `a log line names the call and its moved leg:\n${server.output().slice(-4000)}`);

    // The replacement worker runs: liveness and readiness say so, and the dead pid is gone.
    await until('/healthz 200', async () => (await fetch(`${server.url}/healthz`)).status === 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.workers, 'ok');
    const now = workerPids();
    assert.equal(now.length, 2, 'a new worker replaced the dead one');
    assert.ok(!now.includes(pids[0]!));

    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await bob.waitEvent('astral-call-ended');
    assert.deepEqual([ended.detail.callId, ended.detail.disposition], [callId, 'ANSWERED']);

    // A new call afterwards, the other way round, carries audio both ways.
    await connectedCall(bob, alice, 'alice');
    await Promise.all([alice.expectTone(BOB_HZ), bob.expectTone(ALICE_HZ)]);
    await Promise.all([assertInboundRtp(alice, BOB_HZ), assertInboundRtp(bob, ALICE_HZ)]);
  });
});
