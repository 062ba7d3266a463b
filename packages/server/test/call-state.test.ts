// Per-call state is let go when calls end: after a few calls to completion the server holds no call, leg or journey.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server));

const ended = (s: Socket) => new Promise<{ disposition: string }>((r) => s.once('call:ended', r));

test('answered, declined and cancelled calls leave no per-call state behind', async () => {
  // Parties without an extension can never be queue members: no idle time is kept for them.
  const alice = await widgetSocket(t, 'state-alice');
  const bob = await widgetSocket(t, 'state-bob');
  sockets.push(alice, bob);

  let done = [ended(alice), ended(bob)];
  let { data } = await ackRequest(alice, 'call:dial', { destination: 'state-bob' });
  assert.equal((await ackRequest(bob, 'call:answer', { callId: data!.callId })).ok, true);
  assert.equal((await ackRequest(alice, 'call:hangup', { callId: data!.callId })).ok, true);
  assert.deepEqual((await Promise.all(done)).map((e) => e.disposition), ['ANSWERED', 'ANSWERED']);

  done = [ended(alice)];
  ({ data } = await ackRequest(alice, 'call:dial', { destination: 'state-bob' }));
  assert.equal((await ackRequest(bob, 'call:decline', { callId: data!.callId })).ok, true);
  await Promise.all(done);

  done = [ended(alice)];
  ({ data } = await ackRequest(alice, 'call:dial', { destination: 'state-bob' }));
  assert.equal((await ackRequest(alice, 'call:hangup', { callId: data!.callId })).ok, true);
  await Promise.all(done);

  // Journey writes finish after the end; wait for them, then nothing of the three calls is held.
  for (let i = 0; i < 100 && t.server.retained().journeys > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(t.server.retained(), { calls: 0, legs: 0, journeys: 0, idleTimes: 0 });
});
