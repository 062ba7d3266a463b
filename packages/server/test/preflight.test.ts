// media:preflight / media:preflight-end at the gateway: schema-validated, only on the session's own send transport,
// refused before media setup; ending is always answered. (The real loopback with a browser: test/e2e/call-quality.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server));

type Transport = { id: string };

async function session(identity: string, setup = true): Promise<{ socket: Socket; send?: Transport; recv?: Transport }> {
  const socket = await widgetSocket(t, identity);
  sockets.push(socket);
  if (!setup) return { socket };
  const res = (await socket.timeout(5000).emitWithAck('media:setup', {})) as { ok: boolean; data: { send: Transport; recv: Transport } };
  assert.equal(res.ok, true);
  return { socket, ...res.data };
}

test('before media:setup there is no transport to loop back on', async () => {
  const { socket } = await session('pf-early', false);
  const res = await ackRequest(socket, 'media:preflight', { transportId: 'x', rtpParameters: {} });
  assert.equal(res.error?.code, 'invalid_state');
});

test('malformed payloads are bad_request; the receive transport or a foreign one is refused', async () => {
  const alice = await session('pf-alice');
  const mallory = await session('pf-mallory');
  for (const bad of [undefined, {}, { transportId: '' }, { transportId: mallory.send!.id }, { transportId: mallory.send!.id, rtpParameters: 'x' }, { transportId: mallory.send!.id, rtpParameters: {}, callId: 'c' }]) {
    const res = await ackRequest(mallory.socket, 'media:preflight', bad);
    assert.equal(res.error?.code, 'bad_request', JSON.stringify(bad));
  }
  const onRecv = await ackRequest(mallory.socket, 'media:preflight', { transportId: mallory.recv!.id, rtpParameters: {} });
  assert.equal(onRecv.error?.code, 'bad_request');
  const foreign = await ackRequest(mallory.socket, 'media:preflight', { transportId: alice.send!.id, rtpParameters: {} });
  assert.equal(foreign.error?.code, 'bad_request');
});

test('nonsense RTP parameters on the own send transport are bad_request, not a failure', async () => {
  const { socket, send } = await session('pf-nonsense');
  await ackRequest(socket, 'media:capabilities', { rtpCapabilities: { codecs: [], headerExtensions: [] } });
  const res = await ackRequest(socket, 'media:preflight', { transportId: send!.id, rtpParameters: { codecs: 'no' } });
  assert.equal(res.error?.code, 'bad_request', JSON.stringify(res));
});

test('media:preflight-end answers whether or not a preflight runs, and validates its payload', async () => {
  const { socket } = await session('pf-end');
  assert.equal((await ackRequest(socket, 'media:preflight-end', {})).error, undefined);
  const { socket: bare } = await session('pf-end-bare', false);
  assert.equal((await ackRequest(bare, 'media:preflight-end', {})).error, undefined);
  assert.equal((await ackRequest(socket, 'media:preflight-end', { extra: 1 })).error?.code, 'bad_request');
});
