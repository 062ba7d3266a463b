// Graceful shutdown: SIGTERM tells widgets, refuses new calls, ends the calls left after ASTRAL_DRAIN_SECONDS, writes their records, exits 0.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { mintToken, startServer, type RunningServer } from '../../../test/helpers/server.js';
import { ackRequest, ADMIN_KEY, api, startTestServer } from './helpers.js';

async function phone(server: RunningServer, identity: string, extension: string): Promise<Socket> {
  const socket = io(server.url, { auth: { token: await mintToken(server, identity, { extension }) }, transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('call:incoming', (_d: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: {} }));
  await new Promise((resolve) => socket.once('session:ready', resolve));
  return socket;
}

test('SIGTERM drains: widgets are told, new dials are refused, the live call ends server_shutdown and is recorded, exit 0', { timeout: 60_000 }, async (t) => {
  const server = await startServer({ ASTRAL_DRAIN_SECONDS: '2' });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.disconnect();
    await server.stop();
  });
  const alice = await phone(server, 'drain-alice', '3001');
  const bob = await phone(server, 'drain-bob', '3002');
  const carol = await phone(server, 'drain-carol', '3003');
  sockets.push(alice, bob, carol);
  const { data } = await ackRequest(alice, 'call:dial', { destination: '3002' });
  const callId = data!.callId!;
  assert.equal((await ackRequest(bob, 'call:answer', { callId })).ok, true);

  const draining = new Promise<{ seconds: number }>((r) => carol.once('server:draining', r));
  const ended = new Promise<{ callId: string; reason: string; disposition: string }>((r) => alice.once('call:ended', r));
  const exited = new Promise<number | null>((r) => server.process.once('exit', r));
  const sentAt = Date.now();
  server.process.kill('SIGTERM');
  assert.deepEqual(await draining, { seconds: 2 });
  const readyz = await fetch(`${server.url}/readyz`);
  assert.equal(readyz.status, 503, 'a draining server is not ready for new calls');
  assert.equal(((await readyz.json()) as { status: string }).status, 'draining');
  const refused = await ackRequest(carol, 'call:dial', { destination: '3001' });
  assert.equal(refused.ok, false);
  assert.equal(refused.error?.code, 'unavailable');

  const end = await ended;
  assert.deepEqual([end.callId, end.disposition, end.reason], [callId, 'ANSWERED', 'server_shutdown']);
  assert.ok(Date.now() - sentAt >= 1900, 'the call was given the drain time to finish');
  assert.equal(await exited, 0, server.output());

  // The record was written before exit: a new server on the same data finds it ended by the shutdown (not closed as dangling).
  const next = await startTestServer({ ASTRAL_BOOTSTRAP_API_KEY: ADMIN_KEY }, server.dataDir);
  t.after(() => next.stop().then(() => rmSync(server.dataDir, { recursive: true, force: true })));
  const { status, body } = await api(next, 'GET', `/api/v1/calls/${callId}`, { key: ADMIN_KEY });
  assert.equal(status, 200);
  assert.deepEqual([body.disposition, body.end_reason], ['ANSWERED', 'server_shutdown']);
});
