// Outbound calls from a started SipUserAgent to SIPp trunks: 407 answered with digest, failure codes, far-end BYE,
// CANCEL after 180, TCP and UDP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { InboundInvite, OutboundInvite, TrunkTarget } from '../src/sip/types.js';
import { createHash } from 'node:crypto';
import { ANSWER, OFFER, RawUdp, header, responseTo, scenarioWith, sippServer, startUa, until } from './sip-helpers.js';

const T = { timeout: 20_000 };

const { ua, log } = await startUa({ ackTimeoutMs: 5000 });
after(() => ua.close());

const trunk = (port: number, transport: 'udp' | 'tcp' = 'udp', password = 'carrier-pw'): TrunkTarget => ({
  id: 't1',
  name: 'carrier',
  host: '127.0.0.1',
  port,
  transport,
  username: 'astral-user',
  password,
  realm: null,
});

function outcome(call: OutboundInvite): Promise<{ kind: 'answered'; sdp: string } | { kind: 'failed'; status: number; reason: string }> {
  return new Promise((resolve) => {
    call.once('answered', (sdp: string) => resolve({ kind: 'answered', sdp }));
    call.once('failed', (status: number, reason: string) => resolve({ kind: 'failed', status, reason }));
  });
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`${transport}: 401 challenge answered (SIPp verifyauth), 180, 200 (ACKed), then our BYE`, T, async () => {
    const peer = await sippServer(scenarioWith('uas-auth.xml', { TRUNK_USER: 'astral-user', TRUNK_PASS: 'carrier-pw' }), [], transport === 'tcp');
    const call = ua.invite({ trunk: trunk(peer.port, transport), toUser: '+15557654321', fromUser: '+15550009999', fromDisplayName: 'Astral Café', sdp: OFFER });
    const progress: number[] = [];
    call.on('progress', (status: number) => progress.push(status));
    const result = await outcome(call);
    assert.equal(result.kind, 'answered');
    if (result.kind === 'answered') assert.match(result.sdp, /PCMU/);
    assert.deepEqual(progress, [180]);
    call.bye();
    call.bye();
    const res = await peer.done;
    assert.equal(res.code, 0, res.errors);
    assert.ok(!JSON.stringify(log.lines).includes('carrier-pw'));
  });
}

test('407 from a proxy: Proxy-Authorization with a correct digest (checked independently), then 200', T, async () => {
  const raw = await RawUdp.open();
  try {
    const call = ua.invite({ trunk: { ...trunk(raw.port), realm: 'proxy.example' }, toUser: '+15557654321', fromUser: '200', sdp: OFFER });
    const first = await raw.wait((m) => m.startsWith('INVITE '));
    await raw.send(ua.port, responseTo(first, 407, 'Proxy Authentication Required', 'Proxy-Authenticate: Digest realm="other", nonce="n0"\r\nProxy-Authenticate: Digest realm="proxy.example", nonce="abc123", qop="auth"'));
    const second = await raw.wait((m) => m.startsWith('INVITE ') && /Proxy-Authorization/i.test(m));
    const auth = header(second, 'Proxy-Authorization')!;
    const p = (k: string) => new RegExp(`${k}="?([^",]+)"?`).exec(auth)?.[1] ?? '';
    assert.equal(p('realm'), 'proxy.example');
    assert.equal(p('username'), 'astral-user');
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const ha1 = md5(`astral-user:proxy.example:carrier-pw`);
    const ha2 = md5(`INVITE:${p('uri')}`);
    assert.equal(p('response'), md5(`${ha1}:abc123:${p('nc')}:${p('cnonce')}:auth:${ha2}`));
    assert.notEqual(header(second, 'CSeq'), header(first, 'CSeq'));
    assert.equal(header(second, 'Call-ID'), header(first, 'Call-ID'));
    await raw.wait((m) => m.startsWith('ACK ')); // the 407 was ACKed by the transaction
    const answered = outcome(call);
    await raw.send(ua.port, responseTo(second, 200, 'OK', `Contact: <sip:carrier@127.0.0.1:${raw.port}>\r\nContent-Type: application/sdp`, ANSWER));
    assert.equal((await answered).kind, 'answered');
    const ack = await raw.wait((m) => m.startsWith('ACK ') && m.includes('CSeq: ' + header(second, 'CSeq')!.split(' ')[0] + ' ACK'));
    assert.ok(ack.startsWith(`ACK sip:carrier@127.0.0.1:${raw.port} `));
  } finally {
    raw.close();
  }
});

test('wrong trunk password: the one digest retry gets 403 → failed 403', T, async () => {
  const peer = await sippServer(scenarioWith('uas-auth.xml', { TRUNK_USER: 'astral-user', TRUNK_PASS: 'carrier-pw' }));
  const call = ua.invite({ trunk: trunk(peer.port, 'udp', 'not-it'), toUser: '100', fromUser: '200', sdp: OFFER });
  const result = await outcome(call);
  assert.deepEqual(result.kind === 'failed' && result.status, 403);
  await peer.done;
});

for (const code of [486, 480, 503]) {
  test(`a ${code} from the trunk surfaces as failed ${code}`, T, async () => {
    const peer = await sippServer(scenarioWith('uas-code.xml', { code: String(code) }));
    const call = ua.invite({ trunk: trunk(peer.port), toUser: '100', fromUser: '200', sdp: OFFER });
    const result = await outcome(call);
    assert.equal(result.kind, 'failed');
    if (result.kind === 'failed') assert.equal(result.status, code);
    const res = await peer.done;
    assert.equal(res.code, 0, res.errors);
  });
}

test('the far end hangs up: bye event', T, async () => {
  const peer = await sippServer('uas-bye.xml');
  const call = ua.invite({ trunk: trunk(peer.port), toUser: '100', fromUser: '200', sdp: OFFER });
  const bye = until(call, 'bye');
  assert.equal((await outcome(call)).kind, 'answered');
  await bye;
  const res = await peer.done;
  assert.equal(res.code, 0, res.errors);
});

test('cancel() after 180: CANCEL sent, the INVITE ends 487', T, async () => {
  const peer = await sippServer('uas-cancel.xml');
  const call = ua.invite({ trunk: trunk(peer.port), toUser: '100', fromUser: '200', sdp: OFFER });
  await until(call, 'progress');
  call.cancel();
  const result = await outcome(call);
  assert.deepEqual(result.kind === 'failed' && result.status, 487);
  const res = await peer.done;
  assert.equal(res.code, 0, res.errors);
});

test('cancel() before any response: failed 487 at once', T, async () => {
  const peer = await sippServer('uas-cancel.xml');
  const call = ua.invite({ trunk: trunk(peer.port), toUser: '100', fromUser: '200', sdp: OFFER });
  const result = outcome(call);
  call.cancel();
  assert.deepEqual(await result.then((r) => r.kind === 'failed' && r.status), 487);
  // The INVITE still reaches the peer; its 180 triggers the CANCEL, so the peer's scenario completes.
  const res = await peer.done;
  assert.equal(res.code, 0, res.errors);
});

test('tcp: an unreachable trunk fails 408 (transport error)', T, async () => {
  const call = ua.invite({ trunk: trunk(1, 'tcp'), toUser: '100', fromUser: '200', sdp: OFFER });
  const result = await outcome(call);
  assert.equal(result.kind, 'failed');
  if (result.kind === 'failed') {
    assert.equal(result.status, 408);
    assert.match(result.reason, /transport/i);
  }
});

test('re-INVITE both ways and INFO in an answered call (agent to agent)', T, async () => {
  // Our agent calls a second agent of ours: exercises reinvite(), the 'reinvite' and 'info' events and BYE.
  const { ua: callee } = await startUa({ ackTimeoutMs: 5000 });
  try {
    let calleeInv: InboundInvite | null = null;
    callee.onInvite = (inv) => {
      calleeInv = inv;
      inv.on('reinvite', (sdp: string, reply: (a: string) => void) => reply(sdp.replace('sendonly', 'recvonly')));
      void inv.accept(ANSWER);
    };
    const call = ua.invite({ trunk: { ...trunk(callee.port), username: null, password: null }, toUser: '100', fromUser: '200', sdp: OFFER });
    call.on('reinvite', (_sdp: string, reply: (a: string) => void) => reply(ANSWER + 'a=inactive\r\n'));
    assert.equal((await outcome(call)).kind, 'answered');
    assert.match(await call.reinvite(OFFER + 'a=sendonly\r\n'), /a=recvonly/);
    const inv = calleeInv as unknown as InboundInvite;
    assert.match(await inv.reinvite(OFFER), /a=inactive/);
    // INFO has no public sender (the gateway only receives it): use the dialog's request builder.
    const info = until(call, 'info');
    const d = inv as unknown as { sendRequest(rq: unknown, cb: () => void): void; buildRequest(m: string, c?: string, t?: string): unknown };
    d.sendRequest(d.buildRequest('INFO', 'Signal=5\r\nDuration=160\r\n', 'application/dtmf-relay'), () => undefined);
    const [body, type] = await info;
    assert.match(body as string, /Signal=5/);
    assert.equal(type, 'application/dtmf-relay');
    const bye = until(call, 'bye');
    inv.bye();
    await bye;
  } finally {
    await callee.close();
  }
});

test('a 200 retransmission is ACKed again; a 200 from a second fork is ACKed and BYEd', T, async () => {
  const raw = await RawUdp.open();
  try {
    const call = ua.invite({ trunk: { ...trunk(raw.port), username: null, password: null }, toUser: '100', fromUser: '200', sdp: OFFER });
    const inv = await raw.wait((m) => m.startsWith('INVITE '));
    const answered = outcome(call);
    const ok = (tag: string) =>
      responseTo(inv.replace(/^(To: .*)$/m, `$1;tag=${tag}`), 200, 'OK', `Contact: <sip:${tag}@127.0.0.1:${raw.port}>\r\nContent-Type: application/sdp`, ANSWER);
    await raw.send(ua.port, ok('forkA'));
    assert.equal((await answered).kind, 'answered');
    await raw.wait((m) => m.startsWith(`ACK sip:forkA@`));
    await raw.send(ua.port, ok('forkA'));
    await raw.wait((m) => m.startsWith(`ACK sip:forkA@`) && raw.received.filter((x) => x.startsWith('ACK sip:forkA@')).length >= 2);
    await raw.send(ua.port, ok('forkB'));
    await raw.wait((m) => m.startsWith(`ACK sip:forkB@`));
    const bye = await raw.wait((m) => m.startsWith(`BYE sip:forkB@`));
    assert.match(header(bye, 'To') ?? '', /tag=forkB/);
    assert.equal(raw.received.filter((m) => m.startsWith('BYE sip:forkA@')).length, 0);
    call.bye();
    await raw.wait((m) => m.startsWith(`BYE sip:forkA@`));
  } finally {
    raw.close();
  }
});
