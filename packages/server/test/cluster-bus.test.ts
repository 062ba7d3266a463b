// The cluster bus's batching against a real redis-server: what one node sends another in one turn travels as one
// message, each request still answered on its own (its ack, its timeout), a node that dies fails only its items, and a
// node reported lost or leaving fails what waits for it at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ClusterBus } from '../src/cluster/bus.js';
import { AppError } from '../src/util/errors.js';
import { startRedis, type RunningRedis } from '../../../test/helpers/redis.js';
import { until } from './fake-sfu.js';

let redis: RunningRedis;
const closers: { close(): Promise<unknown> }[] = [];

async function bus(nodeId: string, timeoutMs = 2_000): Promise<ClusterBus> {
  const b = new ClusterBus(redis.url, nodeId, timeoutMs, (err) => assert.fail(String(err)));
  await b.start();
  closers.push(b);
  return b;
}

/** Every message published to a node's RPC channel, parsed. */
async function tap(nodeId: string): Promise<{ items: { kind: string }[] }[]> {
  const conn = new Redis(redis.url);
  closers.push({ close: () => conn.quit() });
  const seen: { items: { kind: string }[] }[] = [];
  conn.on('message', (_channel: string, raw: string) => seen.push(JSON.parse(raw) as { items: { kind: string }[] }));
  await conn.subscribe(`astral:rpc:${nodeId}`);
  return seen;
}

const settled = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

describe('cluster bus batching', { timeout: 60_000 }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of closers.reverse()) await c.close();
    await redis.stop();
  });

  test('N requests to one node in one turn cross as one message and get N answers, replies batched too', async () => {
    const [a, b] = [await bus('batch-a'), await bus('batch-b')];
    const [toB, toA] = [await tap('batch-b'), await tap('batch-a')];
    b.handle<{ n: number }, number>('square', ({ n }) => n * n);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, n) => a.call<number>('batch-b', 'square', { n })));
    assert.deepEqual(answers, Array.from({ length: 50 }, (_, n) => n * n), 'each call resolved with its own answer');
    const itemsSeen = (tapped: { items: unknown[] }[]) => tapped.reduce((sum, m) => sum + m.items.length, 0);
    await until('50 items each way', () => itemsSeen(toB) >= 50 && itemsSeen(toA) >= 50);
    assert.deepEqual(toB.map((m) => m.items.length), [50], 'one message carried the 50 requests');
    assert.deepEqual(toA.map((m) => m.items.length), [50], 'answers ready in the same turn went back as one message');
  });

  test('notes and calls to a node run there in the order they were sent, a failing call answered alone', async () => {
    const [a, b] = [await bus('order-a'), await bus('order-b')];
    const ran: string[] = [];
    b.handle<{ tag: string }, null>('note', ({ tag }) => (ran.push(tag), null));
    b.handle<{ tag: string }, string>('ask', ({ tag }) => {
      ran.push(tag);
      if (tag === 'bad') throw new AppError('invalid_state', 'not this one');
      return tag.toUpperCase();
    });
    a.send('order-b', 'note', { tag: 'n1' });
    const good = a.call<string>('order-b', 'ask', { tag: 'r1' });
    const bad = settled(a.call<string>('order-b', 'ask', { tag: 'bad' }));
    a.send('order-b', 'note', { tag: 'n2' });
    assert.equal(await good, 'R1');
    const failed = await bad;
    assert.ok(!failed.ok && failed.error instanceof AppError && failed.error.code === 'invalid_state');
    await until('4 items run', () => ran.length >= 4);
    assert.deepEqual(ran, ['n1', 'r1', 'bad', 'n2']);
  });

  test('one slow item of a batch times out alone; the others are answered', async () => {
    const [a, b] = [await bus('slow-a'), await bus('slow-b')];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    b.handle<{ n: number }, number>('echo', async ({ n }) => {
      if (n === 3) await held;
      return n;
    });
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => settled(a.call<number>('slow-b', 'echo', { n }, 300))));
    release();
    results.forEach((r, n) => {
      if (n === 3) assert.ok(!r.ok && r.error instanceof AppError && r.error.code === 'unavailable', `item 3 timed out: ${JSON.stringify(r)}`);
      else assert.deepEqual(r, { ok: true, value: n });
    });
  });

  test("a node that dies with a batch in hand fails that batch's items only; another node's items of the same turn succeed", async () => {
    const [a, live, doomed] = [await bus('lost-a'), await bus('lost-live'), await bus('lost-doomed')];
    live.handle<{ n: number }, number>('work', ({ n }) => n);
    let received = 0;
    doomed.handle<{ n: number }, number>('work', () => {
      received++;
      return new Promise<number>(() => undefined); // it dies before answering
    });
    const calls = Array.from({ length: 10 }, (_, n) => settled(a.call<number>(n % 2 ? 'lost-doomed' : 'lost-live', 'work', { n }, 500)));
    await until('5 items received', () => received >= 5);
    await doomed.close();
    const results = await Promise.all(calls);
    results.forEach((r, n) => {
      if (n % 2) assert.ok(!r.ok && r.error instanceof AppError && r.error.code === 'unavailable', `item ${n} failed: ${JSON.stringify(r)}`);
      else assert.deepEqual(r, { ok: true, value: n });
    });
  });

  test('a node that leaves (its bus closes): what still waits for its answer fails at once, and the others hear it left', async () => {
    const [a, leaving] = [await bus('left-a', 60_000), await bus('left-b')];
    leaving.handle<Record<string, never>, string>('quick', () => 'answered');
    leaving.handle<Record<string, never>, number>('stuck', () => new Promise<number>(() => undefined));
    const left: string[] = [];
    a.onLeft((nodeId) => left.push(nodeId));
    const stuck = settled(a.call<number>('left-b', 'stuck', {}));
    assert.equal(await a.call<string>('left-b', 'quick', {}), 'answered');
    const started = Date.now();
    await leaving.close();
    const r = await stuck;
    assert.ok(!r.ok && r.error instanceof AppError && r.error.code === 'unavailable', JSON.stringify(r));
    assert.match((r.error as AppError).message, /^node left-b left the cluster before it answered stuck$/);
    assert.ok(Date.now() - started < 10_000, 'failed on the goodbye, not at its 60 s timeout');
    assert.deepEqual(left, ['left-b']);
  });

  test('a node reported lost fails the calls still waiting for it at once, saying so; a call to a live node waits on', async () => {
    const [a, live, doomed] = [await bus('gone-a', 60_000), await bus('gone-live'), await bus('gone-doomed')];
    let release!: () => void;
    live.handle<Record<string, never>, string>('slow', () => new Promise<string>((resolve) => (release = () => resolve('done'))));
    let received = 0;
    doomed.handle<Record<string, never>, number>('work', () => {
      received++;
      return new Promise<number>(() => undefined); // it dies before answering
    });
    const toDoomed = Array.from({ length: 3 }, () => settled(a.call<number>('gone-doomed', 'work', {})));
    const toLive = a.call<string>('gone-live', 'slow', {});
    await until('3 items received', () => received >= 3 && release);
    a.failPendingTo('gone-doomed', 'was lost (its heartbeat expired)');
    for (const r of await Promise.all(toDoomed)) {
      assert.ok(!r.ok && r.error instanceof AppError && r.error.code === 'unavailable', JSON.stringify(r));
      assert.match((r.error as AppError).message, /^node gone-doomed was lost \(its heartbeat expired\) before it answered work$/);
    }
    release();
    assert.equal(await toLive, 'done');
  });
});
