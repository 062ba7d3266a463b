// KeyedQueue: work under one key runs in the order it was queued, a failure does not stop the next, other keys run
// alongside, and a key with nothing left is forgotten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedQueue } from '../src/util/keyed-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('one key runs its work one after another, in order; a failure answers its caller and the queue goes on', async () => {
  const queue = new KeyedQueue();
  const ran: string[] = [];
  const work = (tag: string, fail = false) => async () => {
    ran.push(`${tag} start`);
    await tick();
    ran.push(`${tag} end`);
    if (fail) throw new Error(tag);
    return tag;
  };
  const results = await Promise.allSettled([queue.run('k', work('a')), queue.run('k', work('b', true)), queue.run('k', work('c'))]);
  assert.deepEqual(ran, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), ['a', 'b', 'c']);
});

test('other keys run alongside; settled waits for what was queued; an idle key is forgotten', async () => {
  const queue = new KeyedQueue();
  let release!: () => void;
  const held = queue.run('slow', () => new Promise<void>((r) => (release = r)));
  assert.equal(await queue.run('fast', async () => 'done'), 'done', 'another key does not wait for the held one');
  assert.deepEqual([...queue.keys()], ['slow']);
  let settled = false;
  const waiting = queue.settled('slow').then(() => (settled = true));
  await tick();
  assert.equal(settled, false);
  release();
  await Promise.all([held, waiting]);
  assert.deepEqual([...queue.keys()], []);
  await queue.settled('never-used');
});
