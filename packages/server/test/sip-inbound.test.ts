// Inbound calls against a started SipUserAgent: SIPp callers over UDP and TCP, hangup from each side, CANCEL,
// rejects, digest challenge, retransmissions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { InboundInvite } from '../src/sip/types.js';
import { ANSWER, OFFER, RawUdp, rawRequest, sipp, sippScenario, startUa, statusOf, header, until } from './sip-helpers.js';

const T = { timeout: 20_000 };

const { ua, log } = await startUa({ ackTimeoutMs: 5000 });
after(() => ua.close());

function next(): Promise<InboundInvite> {
  return new Promise((r) => (ua.onInvite = r));
}

for (const transport of ['udp', 'tcp'] as const) {
  const t = transport === 'tcp' ? ['-t', 't1'] : [];

  test(`${transport}: INVITE → 180 → 200 → ACK → BYE from the caller`, T, async () => {
    const incoming = next();
    const run = sipp(['-sn', 'uac', '-s', '+15551230000', '-d', '200', ...t, `127.0.0.1:${ua.port}`]);
    const inv = await incoming;
    assert.equal(inv.requestUser, '+15551230000');
    assert.equal(inv.toUser, '+15551230000');
    assert.equal(inv.fromUser, 'sipp');
    assert.equal(inv.source.transport, transport);
    assert.equal(inv.source.address, '127.0.0.1');
    assert.match(inv.sdp ?? '', /m=audio/);
    assert.equal(inv.authorization, null);
    const bye = until(inv, 'bye');
    inv.progress(180);
    const acked = await inv.accept(ANSWER);
    assert.equal(acked.ackSdp, null);
    await bye;
    const res = await run.done;
    assert.equal(res.code, 0, res.errors);
  });

  test(`${transport}: we hang up (BYE to the caller)`, T, async () => {
    const incoming = next();
    const run = sipp(['-sf', sippScenario('uac-wait-bye.xml'), '-s', '200', ...t, `127.0.0.1:${ua.port}`]);
    const inv = await incoming;
    assert.equal(inv.fromUser, '+15550001111');
    assert.equal(inv.fromDisplayName, 'SIPp Caller');
    inv.progress(183, ANSWER);
    await inv.accept(ANSWER);
    let farBye = false;
    inv.on('bye', () => (farBye = true));
    inv.bye();
    inv.bye(); // safe twice
    const res = await run.done;
    assert.equal(res.code, 0, res.errors);
    assert.equal(farBye, false);
  });
}

test('CANCEL before the answer → 200 + 487, the invite emits cancel', T, async () => {
  const incoming = next();
  const run = sipp(['-sf', sippScenario('uac-cancel.xml'), '-s', '300', `127.0.0.1:${ua.port}`]);
  const inv = await incoming;
  const cancelled = until(inv, 'cancel');
  inv.progress(180);
  await cancelled;
  await assert.rejects(inv.accept(ANSWER));
  const res = await run.done;
  assert.equal(res.code, 0, res.errors);
});

test('challenge → INVITE with credentials → verifyDigest true → call', T, async () => {
  const checks: (boolean | null)[] = [];
  ua.onInvite = (inv) => {
    if (!inv.authorization) {
      checks.push(null);
      return inv.challenge('astral.test');
    }
    assert.deepEqual(inv.authorization, { username: 'trunkuser', realm: 'astral.test' });
    const ok = inv.verifyDigest('s3cret-pw');
    checks.push(ok);
    if (!ok) return inv.reject(403);
    inv.progress(180);
    void inv.accept(ANSWER);
  };
  const run = sipp(['-sf', sippScenario('uac-auth.xml'), '-s', '400', '-au', 'trunkuser', '-ap', 's3cret-pw', `127.0.0.1:${ua.port}`]);
  const res = await run.done;
  assert.equal(res.code, 0, res.errors);
  assert.deepEqual(checks, [null, true]);
  assert.ok(!JSON.stringify(log.lines).includes('s3cret-pw'));
});

test('challenge → wrong password → verifyDigest false (403)', T, async () => {
  const checks: (boolean | null)[] = [];
  ua.onInvite = (inv) => {
    if (!inv.authorization) {
      checks.push(null);
      return inv.challenge('astral.test');
    }
    const ok = inv.verifyDigest('s3cret-pw');
    checks.push(ok);
    if (!ok) return inv.reject(403);
    void inv.accept(ANSWER);
  };
  const run = sipp(['-sf', sippScenario('uac-auth.xml'), '-s', '401', '-au', 'trunkuser', '-ap', 'wrong-pw', `127.0.0.1:${ua.port}`]);
  const res = await run.done;
  assert.notEqual(res.code, 0);
  assert.match(res.errors, /403/);
  assert.deepEqual(checks, [null, false]);
});

test('reject codes reach the caller with a To tag; retransmitted INVITEs make one onInvite', T, async () => {
  const raw = await RawUdp.open();
  try {
    for (const code of [403, 404, 486, 503]) {
      let calls = 0;
      ua.onInvite = (inv) => {
        calls++;
        setTimeout(() => inv.reject(code), 50);
      };
      const msg = rawRequest('INVITE', { port: ua.port, localPort: raw.port, body: OFFER });
      await raw.send(ua.port, msg);
      await raw.send(ua.port, msg); // a retransmission
      const trying = await raw.wait((m) => statusOf(m) === 100 && m.includes(header(msg, 'Call-ID')!));
      assert.ok(trying);
      const final = await raw.wait((m) => statusOf(m) === code && m.includes(header(msg, 'Call-ID')!));
      assert.match(header(final, 'To') ?? '', /;tag=/);
      await raw.send(ua.port, msg); // after the final answer: the transaction repeats it, no new call
      assert.equal(calls, 1);
    }
  } finally {
    raw.close();
  }
});

test('in-dialog requests for unknown dialogs get 481; REGISTER and unknown methods 405; OPTIONS 200', T, async () => {
  const raw = await RawUdp.open();
  try {
    const bye = rawRequest('BYE', { port: ua.port, localPort: raw.port }).replace(/^(To: .*)$/m, '$1;tag=nope');
    await raw.send(ua.port, bye);
    assert.equal(statusOf(await raw.wait((m) => m.includes(header(bye, 'Call-ID')!))), 481);
    for (const method of ['REGISTER', 'SUBSCRIBE']) {
      const rq = rawRequest(method, { port: ua.port, localPort: raw.port });
      await raw.send(ua.port, rq);
      const rs = await raw.wait((m) => m.includes(header(rq, 'Call-ID')!));
      assert.equal(statusOf(rs), 405);
      assert.match(header(rs, 'Allow') ?? '', /INVITE/);
    }
    const opt = rawRequest('OPTIONS', { port: ua.port, localPort: raw.port });
    await raw.send(ua.port, opt);
    const rs = await raw.wait((m) => m.includes(header(opt, 'Call-ID')!));
    assert.equal(statusOf(rs), 200);
    assert.match(header(rs, 'Allow') ?? '', /BYE/);
    assert.equal(header(rs, 'Accept'), 'application/sdp');
  } finally {
    raw.close();
  }
});

test('no ACK for our 200: retransmitted, then accept() rejects and we BYE (timer H)', T, async () => {
  const { ua: short } = await startUa({ ackTimeoutMs: 1500 });
  const raw = await RawUdp.open();
  try {
    const incoming = new Promise<InboundInvite>((r) => (short.onInvite = r));
    const msg = rawRequest('INVITE', { port: short.port, localPort: raw.port, body: OFFER });
    await raw.send(short.port, msg);
    const inv = await incoming;
    await assert.rejects(inv.accept(ANSWER), /timer H/);
    assert.ok(raw.received.filter((m) => statusOf(m) === 200).length >= 2, '200 OK retransmitted over UDP');
    const bye = await raw.wait((m) => m.startsWith('BYE '));
    assert.ok(bye.startsWith(`BYE sip:raw@127.0.0.1:${raw.port} `));
    assert.match(header(bye, 'To') ?? '', /tag=raw/);
  } finally {
    raw.close();
    await short.close();
  }
});

test('BYE before the ACK: accept() rejects, bye is emitted, BYE answered 200', T, async () => {
  const raw = await RawUdp.open();
  try {
    const incoming = next();
    const msg = rawRequest('INVITE', { port: ua.port, localPort: raw.port, body: OFFER });
    await raw.send(ua.port, msg);
    const inv = await incoming;
    const accepted = inv.accept(ANSWER);
    const ok = await raw.wait((m) => statusOf(m) === 200);
    const bye = msg
      .replace(/^INVITE /, 'BYE ')
      .replace(/^CSeq: 1 INVITE$/m, 'CSeq: 2 BYE')
      .replace(/^To: .*$/m, `To: ${header(ok, 'To')}`)
      .replace(/branch=[^;\r]+/, 'branch=z9hG4bK-bye-1')
      .replace(/\r\n\r\nv=0[\s\S]*$/, '\r\n\r\n')
      .replace(/^Content-Length: \d+$/m, 'Content-Length: 0')
      .replace(/^Content-Type: .*\r\n/m, '');
    const byeEvent = until(inv, 'bye');
    await raw.send(ua.port, bye);
    await assert.rejects(accepted, /hung up/);
    await byeEvent;
    assert.equal(statusOf(await raw.wait((m) => statusOf(m) === 200 && /CSeq: 2 BYE/.test(m))), 200);
  } finally {
    raw.close();
  }
});
