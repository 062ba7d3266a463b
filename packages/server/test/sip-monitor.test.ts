// Trunk monitoring: REGISTER with digest against a SIPp registrar (registered, auth_failed, unREGISTER on stop),
// refresh before expiry, OPTIONS pings (reachable / unreachable over UDP and TCP).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TrunkStatus, TrunkTarget } from '../src/sip/types.js';
import { join } from 'node:path';
import { startKamailio } from '../../../test/helpers/kamailio.js';
import { RawUdp, SIPP_DIR, freePort, header, responseTo, scenarioWith, sippServer, startUa } from './sip-helpers.js';

const T = { timeout: 20_000 };

// SIPp and Kamailio are real processes on a machine that may be loaded: each request gets 4 s before it counts as lost.
const { ua, log } = await startUa({ optionsIntervalMs: 200, retryMs: 200, requestTimeoutMs: 4000 });
after(() => ua.close());

const trunk = (port: number, o: Partial<TrunkTarget> = {}): TrunkTarget => ({
  id: 'tr',
  name: 'carrier',
  host: '127.0.0.1',
  port,
  transport: 'udp',
  username: 'astral-user',
  password: 'reg-pw',
  realm: null,
  ...o,
});

function statuses(): { list: TrunkStatus[]; next(s: TrunkStatus): Promise<void>; cb: (s: TrunkStatus) => void } {
  const list: TrunkStatus[] = [];
  const waiters: { s: TrunkStatus; r: () => void }[] = [];
  return {
    list,
    cb: (s) => {
      list.push(s);
      for (const w of waiters.filter((w) => w.s === s)) w.r();
    },
    next: (s) => (list.includes(s) ? Promise.resolve() : new Promise((r) => waiters.push({ s, r }))),
  };
}

test('REGISTER: 401 answered, registered; stop() unREGISTERs (digest verified by SIPp each time)', T, async () => {
  const peer = await sippServer(scenarioWith('uas-register.xml', { TRUNK_USER: 'astral-user', TRUNK_PASS: 'reg-pw', EXPIRES: '300' }));
  const st = statuses();
  const m = ua.monitor({ ...trunk(peer.port), register: true }, st.cb);
  await st.next('registered');
  m.stop();
  const res = await peer.done;
  assert.equal(res.code, 0, res.errors);
  assert.deepEqual(st.list, ['registered']);
  assert.ok(!JSON.stringify(log.lines).includes('reg-pw'));
});

test('REGISTER with a wrong password → auth_failed', T, async () => {
  const peer = await sippServer(scenarioWith('uas-register.xml', { TRUNK_USER: 'astral-user', TRUNK_PASS: 'reg-pw', EXPIRES: '300' }));
  const st = statuses();
  const m = ua.monitor({ ...trunk(peer.port, { password: 'wrong' }), register: true }, st.cb);
  await st.next('auth_failed');
  m.stop();
  await peer.done;
  assert.deepEqual(st.list, ['auth_failed']);
});

test('REGISTER refreshes before expiry (same Call-ID, higher CSeq, credentials again)', T, async () => {
  const raw = await RawUdp.open();
  try {
    const st = statuses();
    const m = ua.monitor({ ...trunk(raw.port), register: true }, st.cb);
    const first = await raw.wait((x) => x.startsWith('REGISTER '));
    assert.equal(header(first, 'Expires'), '300');
    assert.match(header(first, 'Contact') ?? '', new RegExp(`<sip:astral-user@127\\.0\\.0\\.1:${ua.port}>`));
    await raw.send(ua.port, responseTo(first, 401, 'Unauthorized', 'WWW-Authenticate: Digest realm="r", nonce="n1"'));
    const second = await raw.wait((x) => x.startsWith('REGISTER ') && /Authorization:/i.test(x));
    await raw.send(ua.port, responseTo(second, 200, 'OK', `Contact: ${header(second, 'Contact')};expires=1`));
    await st.next('registered');
    const refresh = await raw.wait((x) => x.startsWith('REGISTER ') && x !== first && x !== second);
    assert.equal(header(refresh, 'Call-ID'), header(first, 'Call-ID'));
    assert.ok(parseInt(header(refresh, 'CSeq')!, 10) > parseInt(header(second, 'CSeq')!, 10));
    assert.match(header(refresh, 'Authorization') ?? '', /nonce="n1"/);
    m.stop();
  } finally {
    raw.close();
  }
});

test('OPTIONS ping: a SIPp trunk answering → reachable', T, async () => {
  const peer = await sippServer('uas-options.xml');
  const st = statuses();
  const m = ua.monitor({ ...trunk(peer.port), register: false }, st.cb);
  await st.next('reachable');
  m.stop();
  const res = await peer.done;
  assert.equal(res.code, 0, res.errors);
});

test('OPTIONS ping: silence over UDP → unreachable, then reachable when it answers', T, async () => {
  const raw = await RawUdp.open();
  try {
    const st = statuses();
    const m = ua.monitor({ ...trunk(raw.port), register: false }, st.cb);
    await st.next('unreachable');
    raw.socket.on('message', (d) => {
      const text = d.toString('latin1');
      if (text.startsWith('OPTIONS ')) void raw.send(ua.port, responseTo(text, 200, 'OK'));
    });
    await st.next('reachable');
    m.stop();
    assert.deepEqual(st.list, ['unreachable', 'reachable']);
  } finally {
    raw.close();
  }
});

test('OPTIONS ping over TCP to a closed port → unreachable', T, async () => {
  const port = await freePort();
  const st = statuses();
  const m = ua.monitor({ ...trunk(port, { transport: 'tcp' }), register: false }, st.cb);
  await st.next('unreachable');
  m.stop();
});

test('REGISTER against Kamailio (registrar with digest auth): registered, and auth_failed with a wrong password', { timeout: 60_000 }, async () => {
  const kamailio = await startKamailio(join(SIPP_DIR, 'kamailio-registrar.cfg'));
  const port = kamailio.sipPort;
  try {
    // Started is not ready: a loaded machine leaves Kamailio's worker silent for a while. It answers OPTIONS once it is.
    const up = statuses();
    const probe = ua.monitor({ ...trunk(port), register: false }, up.cb);
    await up.next('reachable');
    probe.stop();
    const ok = statuses();
    const m1 = ua.monitor({ ...trunk(port, { password: 'kam-secret' }), register: true }, ok.cb);
    await ok.next('registered');
    m1.stop();
    const bad = statuses();
    const m2 = ua.monitor({ ...trunk(port, { password: 'nope', username: 'other-user' }), register: true }, bad.cb);
    await bad.next('auth_failed');
    m2.stop();
    assert.deepEqual([ok.list, bad.list], [['registered'], ['auth_failed']]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${kamailio.log().slice(-2000)}`);
  } finally {
    await kamailio.close();
  }
});
