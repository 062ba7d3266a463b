// WorkerPool when a worker dies: its owner is told which router went, that router is never handed out again, and a
// region whose only worker died waits for the replacement.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import type { types } from 'mediasoup';
import { WorkerPool } from '../src/media/worker-pool.js';

const silentLog = new Proxy({}, { get: (_, k) => (k === 'child' ? () => silentLog : () => undefined) }) as unknown as FastifyBaseLogger;
let pool: WorkerPool;
const rtcMinPort = 42000 + Math.floor(Math.random() * 5000);
before(async () => (pool = await WorkerPool.start({ workers: 2, rtcMinPort, rtcMaxPort: rtcMinPort + 199, listenIp: '127.0.0.1', announcedIp: '127.0.0.1' }, silentLog)));
after(() => pool.close());

/** Kills worker `index` and resolves with the router the pool reports dead, and whether the pool was healthy then. */
function kill(index: number): Promise<{ router: types.Router; healthyThen: boolean }> {
  const slot = pool.live.find((w) => w.index === index)!;
  const told = new Promise<{ router: types.Router; healthyThen: boolean }>((resolve) => {
    pool.onRouterDied = (router) => resolve({ router, healthyThen: pool.healthy });
  });
  process.kill(slot.worker.pid, 'SIGKILL');
  return told;
}

test('a dead worker: its router is reported, the pool is unhealthy, and only live routers are handed out', async () => {
  const before = pool.live.find((w) => w.index === 0)!.router;
  const { router, healthyThen } = await kill(0);
  assert.equal(router, before, 'the dead worker’s router is the one reported');
  assert.ok(router.closed, 'it is closed, with everything on it');
  assert.equal(healthyThen, false, 'unhealthy until the replacement runs');
  for (let i = 0; i < 4; i++) assert.notEqual(pool.acquireRouter(), router, 'never handed out again');
  assert.notEqual(pool.peekRouter(), router);
});

test('a region whose only worker died waits for the replacement, then gets its new router', async () => {
  const dead = pool.live.find((w) => w.index === 1)!.router;
  const { router } = await kill(1);
  assert.equal(router, dead);
  assert.throws(() => pool.acquireRouter([1]), /no mediasoup worker/, 'nothing live in that region right now');
  await pool.available([1]);
  const replacement = pool.acquireRouter([1]);
  assert.notEqual(replacement, dead);
  assert.equal(replacement.closed, false);
});
