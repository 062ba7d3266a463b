// /healthz follows the mediasoup workers: unavailable while a dead worker is being replaced, ok again after.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
before(async () => (t = await startTestServer({ ASTRAL_WORKERS: '1' })));
after(() => t.close());

const health = async () => (await fetch(`${t.url}/healthz`)).status;

/** This process's mediasoup worker children. */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('mediasoup-work'))
    .map((l) => Number.parseInt(l.trim(), 10));
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
  }
}

test('a killed worker makes /healthz answer 503 until its replacement runs', async () => {
  assert.equal(await health(), 200);
  const [pid] = workerPids();
  assert.ok(pid, 'the server runs a mediasoup worker');
  process.kill(pid, 'SIGKILL');
  await until('503 while the worker is gone', async () => (await health()) === 503, 3000);
  await until('200 once a new worker runs', async () => (await health()) === 200, 10_000);
  assert.notDeepEqual(workerPids(), [pid], 'a new worker process replaced the dead one');
});
