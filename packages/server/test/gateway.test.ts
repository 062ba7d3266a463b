// Gateway contract: token auth on connect, validated payloads with error acks, and call signaling between sessions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { SignJWT } from 'jose';
import { ADMIN_KEY, api, serverForFile, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server), { ASTRAL_RING_TIMEOUT: '2' });

async function token(identity: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity, ...extra } });
  return res.body.token as string;
}

function connect(authToken: unknown): Socket {
  const socket = io(t.url, { auth: { token: authToken }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  return socket;
}

async function ready(identity: string): Promise<Socket> {
  const socket = connect(await token(identity));
  await new Promise<void>((resolve, reject) => {
    socket.once('session:ready', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

const refused = (socket: Socket) =>
  new Promise<{ message: string; data?: { code: string } }>((resolve) => socket.once('connect_error', (e) => resolve(e as never)));

const req = (socket: Socket, event: string, payload?: unknown) =>
  socket.timeout(5000).emitWithAck(event, payload) as Promise<{ ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string } }>;

const next = <T>(socket: Socket, event: string) => new Promise<T>((resolve) => socket.once(event, (data: T) => resolve(data)));

describe('socket authentication', () => {
  test('a connection without a token is refused with a clear error', async () => {
    const err = await refused(connect(undefined));
    assert.equal(err.data?.code, 'unauthorized');
    assert.match(err.message, /missing widget token/);
  });

  test('a forged or tampered token is refused', async () => {
    const forged = await new SignJWT({ iid: 'x', idn: 'eve' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuer('astral')
      .setAudience('astral-widget')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-server-secret-not-the-server-secret'));
    assert.equal((await refused(connect(forged))).data?.code, 'unauthorized');
    const real = await token('tamper');
    const [h, , s] = real.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: '1', idn: 'admin', iid: 'x', iss: 'astral', aud: 'astral-widget', exp: 9e9 })).toString('base64url');
    assert.equal((await refused(connect(`${h}.${payload}.${s}`))).data?.code, 'unauthorized');
  });

  test('an expired token is refused as token_expired', async () => {
    const res = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'late', ttl_seconds: 60 } });
    const { decodeJwt } = await import('jose');
    assert.ok((decodeJwt(res.body.token as string).exp as number) > Date.now() / 1000);
    // Re-sign an already expired copy with the server's own key is impossible from outside: use the store's secret.
    const { readFileSync } = await import('node:fs');
    const secret = Buffer.from(readFileSync(`${t.dataDir}/secret.key`, 'utf8').trim(), 'base64url');
    const expired = await new SignJWT({ iid: t.server.instanceId, idn: 'late' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(res.body.user_id as string)
      .setIssuer('astral')
      .setAudience('astral-widget')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(secret);
    assert.equal((await refused(connect(expired))).data?.code, 'token_expired');
  });
});

describe('payload validation', () => {
  test('malformed payloads get a bad_request ack and the server keeps serving', async () => {
    const s = await ready('validator');
    const bad: [string, unknown][] = [
      ['call:dial', undefined],
      ['call:dial', 'bob'],
      ['call:dial', { destination: '' }],
      ['call:dial', { destination: 'a b' }],
      ['call:dial', { destination: 'bob', extra: true }],
      ['call:answer', { callId: 5 }],
      ['call:dtmf', { callId: '1', digits: 'xyz' }],
      ['call:mute', { callId: '1', muted: 'yes' }],
      ['media:connect', { transportId: 't' }],
      ['media:produce', { transportId: 't', callId: 'c', kind: 'video', rtpParameters: {} }],
    ];
    for (const [event, payload] of bad) {
      const res = await req(s, event, payload);
      assert.equal(res.ok, false, `${event} ${JSON.stringify(payload)}`);
      assert.equal(res.error?.code, 'bad_request');
      assert.match(res.error!.message, new RegExp(event));
    }
    s.emit('call:dial', { destination: 'bob' }); // no ack function: must not crash
    s.emit('no:such-event', 1, () => undefined);
    const unknownCall = await req(s, 'call:hangup', { callId: '42' });
    assert.equal(unknownCall.error?.code, 'not_found');
    const health = await api(t, 'GET', '/healthz');
    assert.equal(health.status, 200);
  });

  test('bad media parameters are refused without hurting the worker', async () => {
    const s = await ready('media-fuzzer');
    const setup = await req(s, 'media:setup', {});
    assert.equal(setup.ok, true);
    const send = setup.data!.send as { id: string; iceCandidates: { ip: string }[] };
    assert.equal(send.iceCandidates[0]!.ip, '127.0.0.1');
    const res = await req(s, 'media:connect', { transportId: send.id, dtlsParameters: { fingerprints: 'nope' } });
    assert.equal(res.ok, false);
    assert.equal((await req(s, 'media:connect', { transportId: 'unknown', dtlsParameters: {} })).error?.code, 'not_found');
    assert.equal((await api(t, 'GET', '/healthz')).status, 200);
  });
});

describe('call signaling between sessions', () => {
  test('dial rings the callee, decline ends BUSY and is recorded', async () => {
    const caller = await ready('sig-alice');
    const callee = await ready('sig-bob');
    const incoming = new Promise<{ callId: string; from: { identity: string } }>((resolve) =>
      callee.once('call:incoming', (data: { callId: string; from: { identity: string } }, ack: (r: unknown) => void) => {
        ack({ ok: true, data: {} });
        resolve(data);
      }),
    );
    const ringing = next<{ callId: string }>(caller, 'call:ringing');
    const dial = await req(caller, 'call:dial', { destination: 'sig-bob' });
    assert.equal(dial.ok, true);
    const callId = dial.data!.callId as string;
    assert.equal((await incoming).from.identity, 'sig-alice');
    assert.equal((await ringing).callId, callId);
    const ended = next<{ disposition: string; reason: string }>(caller, 'call:ended');
    assert.equal((await req(callee, 'call:decline', { callId })).ok, true);
    assert.deepEqual(await ended, { callId, disposition: 'BUSY', reason: 'declined', duration: 0, talkTime: 0 });
    const record = await api(t, 'GET', `/api/v1/calls/${callId}`, { key: ADMIN_KEY });
    assert.equal(record.body.disposition, 'BUSY');
  });

  test('a callee that is not connected fails the call as FAILED / unavailable', async () => {
    await token('offline-user');
    const caller = await ready('sig-carol');
    const ended = next<{ disposition: string; reason: string }>(caller, 'call:ended');
    const dial = await req(caller, 'call:dial', { destination: 'offline-user' });
    assert.equal(dial.ok, true);
    assert.deepEqual([(await ended).disposition, (await ended).reason], ['FAILED', 'unavailable']);
  });

  test('you cannot call yourself, an unknown user, or dial twice at once', async () => {
    const s = await ready('sig-dave');
    assert.equal((await req(s, 'call:dial', { destination: 'sig-dave' })).error?.code, 'bad_request');
    assert.equal((await req(s, 'call:dial', { destination: 'ghost' })).error?.code, 'not_found');
    await ready('sig-erin');
    assert.equal((await req(s, 'call:dial', { destination: 'sig-erin' })).ok, true);
    assert.equal((await req(s, 'call:dial', { destination: 'sig-erin' })).error?.code, 'invalid_state');
  });

  test('a caller that disconnects while ringing ends the call for the callee', async () => {
    const caller = await ready('sig-frank');
    const callee = await ready('sig-gina');
    callee.on('call:incoming', (_d: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: {} }));
    const ended = next<{ reason: string; disposition: string }>(callee, 'call:ended');
    await req(caller, 'call:dial', { destination: 'sig-gina' });
    caller.disconnect();
    assert.deepEqual([(await ended).disposition, (await ended).reason], ['NO ANSWER', 'disconnected']);
  });
});
