// Garbage on the SIP port: random bytes, truncated and oversized messages (UDP and TCP), an INVITE flood. Each is
// dropped with a rate-limited log line, and the agent still answers OPTIONS and real calls afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { ANSWER, OFFER, RawUdp, header, rawRequest, sipp, startUa, statusOf } from './sip-helpers.js';

const T = { timeout: 20_000 };
const { ua, log } = await startUa({ inviteRate: 50, inviteBurst: 20 });
after(() => ua.close());
ua.onInvite = (inv) => inv.reject(486);

const warnings = (re: RegExp) => log.lines.filter((l) => l.level === 'warn' && re.test(l.msg));

/** OPTIONS like a real UDP client: retransmitted (the kernel may have dropped datagrams during the flood). */
async function optionsAnswered(raw: RawUdp): Promise<void> {
  const opt = rawRequest('OPTIONS', { port: ua.port, localPort: raw.port });
  for (let i = 0; i < 8; i++) {
    await raw.send(ua.port, opt);
    const rs = await raw.wait((m) => m.includes(header(opt, 'Call-ID')!), 500).catch(() => null);
    if (rs) return assert.equal(statusOf(rs), 200);
  }
  assert.fail('OPTIONS not answered');
}

function tcpSend(data: Buffer | string): Promise<{ closedByServer: boolean; received: string }> {
  return new Promise((resolve) => {
    const s = net.connect(ua.port, '127.0.0.1');
    let received = '';
    s.on('data', (d) => (received += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ closedByServer: true, received }));
    s.write(data);
  });
}

test('UDP: random bytes, truncated, oversized and header-bomb datagrams are dropped and logged', T, async () => {
  const raw = await RawUdp.open();
  try {
    for (let i = 0; i < 300; i++) await raw.send(ua.port, randomBytes(1 + (i * 37) % 1400));
    await raw.send(ua.port, 'INVITE sip:x@y SIP/2.0\r\n\r\n'); // no Via/Call-ID/...
    const full = rawRequest('INVITE', { port: ua.port, localPort: raw.port, body: OFFER });
    await raw.send(ua.port, full.slice(0, full.length - 40)); // truncated body
    await raw.send(ua.port, full.slice(0, 120)); // truncated headers
    await raw.send(ua.port, rawRequest('OPTIONS', { port: ua.port, localPort: raw.port, extra: `X-Junk: ${'a'.repeat(20_000)}` }));
    await raw.send(ua.port, rawRequest('INFO', { port: ua.port, localPort: raw.port, body: 'x'.repeat(65_000) }));
    await raw.send(ua.port, Buffer.alloc(65_000, 0x41));
    await optionsAnswered(raw);
    const drops = warnings(/dropped a message/);
    assert.ok(drops.length >= 1, 'garbage is logged');
    assert.ok(drops.length <= 10, `drops are rate-limited (${drops.length} lines)`);
    // Nothing of the garbage got an answer except the final OPTIONS.
    assert.equal(raw.received.filter((m) => statusOf(m) !== 200).length, 0);
  } finally {
    raw.close();
  }
});

test('TCP: garbage, an endless header and a huge Content-Length close the connection', T, async () => {
  const garbage = await tcpSend(Buffer.concat([randomBytes(2000), Buffer.from('\r\n\r\n')]));
  assert.equal(garbage.closedByServer, true);
  assert.equal(garbage.received, '');
  const endless = await tcpSend('OPTIONS sip:a@b SIP/2.0\r\n' + 'X: y\r\n'.repeat(5000));
  assert.equal(endless.closedByServer, true);
  const huge = await tcpSend(rawRequest('OPTIONS', { port: ua.port, localPort: 1, transport: 'TCP' }).replace(/Content-Length: 0/, 'Content-Length: 9999999'));
  assert.equal(huge.closedByServer, true);
  assert.ok(warnings(/dropped a message/).some((l) => (l.obj as { transport?: string }).transport === 'TCP'));
});

test('TCP: a good message on a connection is answered; keep-alive CRLFs get a pong', T, async () => {
  const s = net.connect(ua.port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.write('\r\n\r\n');
  const opt = rawRequest('OPTIONS', { port: ua.port, localPort: s.localPort!, transport: 'TCP' });
  s.write(opt);
  while (!/SIP\/2\.0 200/.test(got)) await new Promise((r) => s.once('data', r));
  assert.ok(got.startsWith('\r\n'));
  s.destroy();
});

test('INVITE flood from one IP: over the limit it gets 503 or silence (logged)', T, async () => {
  const raw = await RawUdp.open();
  let invites = 0;
  ua.onInvite = (inv) => {
    invites++;
    inv.reject(486);
  };
  try {
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      const m = rawRequest('INVITE', { port: ua.port, localPort: raw.port, body: OFFER });
      sent.push(m);
      await raw.send(ua.port, m);
    }
    await optionsAnswered(raw);
    assert.ok(invites < 200, `${invites} of 200 flood INVITEs reached call control`);
    assert.ok(invites >= 1);
    assert.ok(raw.received.some((m) => statusOf(m) === 503));
    assert.ok(warnings(/INVITE rate limit/).length >= 1);
    assert.ok(warnings(/INVITE rate limit/).length <= 3);
  } finally {
    raw.close();
    ua.onInvite = (inv) => inv.reject(486);
  }
});

test('after all of it, real calls still work over UDP and TCP', T, async () => {
  // Let the flooded bucket refill a little (it refills at 50/s; one token is enough).
  await new Promise((r) => setTimeout(r, 100));
  for (const t of [[], ['-t', 't1']]) {
    let answered = 0;
    ua.onInvite = (inv) => {
      inv.progress(180);
      void inv.accept(ANSWER).then(() => answered++);
    };
    const run = sipp(['-sn', 'uac', '-s', '777', '-d', '100', ...t, `127.0.0.1:${ua.port}`]);
    const res = await run.done;
    assert.equal(res.code, 0, res.errors);
    assert.equal(answered, 1);
  }
});
