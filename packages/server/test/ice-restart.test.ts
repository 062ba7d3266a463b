// media:restartIce: new ICE credentials for a session's own transport, refused for another session's, counted in /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server));

type IceParameters = { usernameFragment: string; password: string; iceLite?: boolean };
type Transport = { id: string; iceParameters: IceParameters };

async function withMedia(identity: string): Promise<{ socket: Socket; send: Transport; recv: Transport }> {
  const socket = await widgetSocket(t, identity);
  sockets.push(socket);
  const setup = (await socket.timeout(5000).emitWithAck('media:setup', {})) as { ok: boolean; data: { send: Transport; recv: Transport } };
  assert.equal(setup.ok, true);
  return { socket, ...setup.data };
}

const restartCount = async (): Promise<number> => {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return Number(/^astral_ice_restarts_total (\d+)/m.exec(text)?.[1]);
};

test('restarting ICE on either own transport answers new ICE credentials and counts the restart', async () => {
  const { socket, send, recv } = await withMedia('ice-alice');
  const before = await restartCount();
  for (const transport of [send, recv]) {
    const res = (await socket.timeout(5000).emitWithAck('media:restartIce', { transportId: transport.id })) as {
      ok: boolean;
      data: { iceParameters: IceParameters };
    };
    assert.equal(res.ok, true, JSON.stringify(res));
    assert.notEqual(res.data.iceParameters.usernameFragment, transport.iceParameters.usernameFragment);
    assert.notEqual(res.data.iceParameters.password, transport.iceParameters.password);
  }
  assert.equal(await restartCount(), before + 2);
});

test("another session's transport, an unknown id or a malformed payload is refused, and nothing is counted", async () => {
  const alice = await withMedia('ice-owner');
  const mallory = await withMedia('ice-mallory');
  const before = await restartCount();
  const foreign = await ackRequest(mallory.socket, 'media:restartIce', { transportId: alice.send.id });
  assert.equal(foreign.error?.code, 'not_found');
  assert.equal((await ackRequest(mallory.socket, 'media:restartIce', { transportId: 'nope' })).error?.code, 'not_found');
  for (const bad of [undefined, {}, { transportId: '' }, { transportId: 7 }, { transportId: alice.send.id, extra: 1 }]) {
    const res = await ackRequest(mallory.socket, 'media:restartIce', bad);
    assert.equal(res.error?.code, 'bad_request', JSON.stringify(bad));
  }
  assert.equal(await restartCount(), before);
});

test('before media:setup there is nothing to restart', async () => {
  const socket = await widgetSocket(t, 'ice-early');
  sockets.push(socket);
  const res = await ackRequest(socket, 'media:restartIce', { transportId: 'whatever' });
  assert.equal(res.error?.code, 'invalid_state');
});
