// A party whose connection drops mid-call keeps its place for the grace period: it can resume, or the call ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, ADMIN_KEY, api, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server), { ASTRAL_RECONNECT_GRACE: '1' });

async function connect(identity: string): Promise<Socket> {
  const socket = await widgetSocket(t, identity);
  sockets.push(socket);
  return socket;
}
const req = ackRequest;

async function answeredCall(a: Socket, b: Socket, to: string): Promise<string> {
  const { data } = await req(a, 'call:dial', { destination: to });
  assert.equal((await req(b, 'call:answer', { callId: data!.callId })).ok, true);
  return data!.callId!;
}

test('the dropped party comes back on a new connection and takes its place (same legs)', async () => {
  const alice = await connect('rc-alice');
  const bob = await connect('rc-bob');
  const callId = await answeredCall(alice, bob, 'rc-bob');
  const legsBefore = (await api(t, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY })).body as unknown as { channel_id: string }[];
  let bobEnded = false;
  bob.on('call:ended', () => (bobEnded = true));
  alice.disconnect();
  const again = await connect('rc-alice');
  assert.equal((await req(again, 'call:resume', { callId })).ok, true);
  await new Promise((r) => setTimeout(r, 1500)); // past the grace period
  assert.equal(bobEnded, false, 'the call survived the drop');
  const legsAfter = (await api(t, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY })).body as unknown as { channel_id: string }[];
  assert.deepEqual(legsAfter.map((l) => l.channel_id).sort(), legsBefore.map((l) => l.channel_id).sort());
  assert.equal((await req(again, 'call:hangup', { callId })).ok, true);
});

test('without a return within the grace period the call ends as disconnected; others cannot resume it', async () => {
  const carol = await connect('rc-carol');
  const dave = await connect('rc-dave');
  const callId = await answeredCall(carol, dave, 'rc-dave');
  const ended = new Promise<{ reason: string; disposition: string }>((r) => dave.once('call:ended', r));
  carol.disconnect();
  const eve = await connect('rc-eve');
  assert.equal((await req(eve, 'call:resume', { callId })).error?.code, 'not_found', 'only the same user may resume');
  const started = Date.now();
  const end = await ended;
  assert.deepEqual([end.disposition, end.reason], ['ANSWERED', 'disconnected']);
  assert.ok(Date.now() - started > 500, 'the end waited for the grace period');
});
