// Self-test of the SIPp harness and RTP capture: the test/sipp scenarios played SIPp against SIPp (no Astral server).
// Not part of `npm test`; run as root: node --import tsx --test --test-concurrency=1 test/helpers/sipp.selftest.ts
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { analyseRtp, captureRtp, dominantFrequency, isNotSilent, readRtpPcap } from './rtp-capture.js';
import { rms } from './tone.js';
import { cleanupSipp, expectSipp, startSipp, type SippResult } from './sipp.js';

const NUMBER = '15551230000';
const CALLER = '15550100001';
const creds = { username: 'astral', password: 's3cret' };

async function pair(uas: Parameters<typeof startSipp>[0], uac: Omit<Parameters<typeof startSipp>[0], 'remote'>) {
  const server = await startSipp(uas);
  const client = await startSipp({ ...uac, remote: server.address, transport: uas.transport, service: NUMBER });
  const [s, c] = await Promise.all([server.done, client.done]);
  return { server, client, s, c };
}

const done = (...rs: SippResult[]) => rs.forEach(cleanupSipp);

test('bundled RFC 2833 pcaps: dtmf_2833_<d>.pcap holds one event of digit d, PT 101', () => {
  const dir = '/usr/share/sip-tester';
  const files = readdirSync(dir).filter((f) => f.startsWith('dtmf_2833_'));
  assert.equal(files.length, 12);
  for (const f of files) {
    const want = { pound: '#', star: '*' }[f.slice(10, -5)] ?? f.slice(10, -5);
    const a = analyseRtp(readRtpPcap(`${dir}/${f}`));
    assert.equal(a.digits, want, f);
    assert.deepEqual(Object.keys(a.payloadTypes), ['101'], f);
    assert.equal(a.telephoneEvents[0]!.ended, true);
  }
  const g = analyseRtp(readRtpPcap(`${dir}/g711a.pcap`));
  assert.equal(g.mainPt, 8);
  assert.equal(g.packets, 236);
  assert.ok(isNotSilent(g.pcm), `g711a rms ${rms(g.pcm)}`);
});

test('UDP: UAC with auth against the 401-challenging UAS; pcap audio both ways; carrier UAC hangs up', async () => {
  const uasMedia = await captureAfter();
  const uacMedia = await captureAfter();
  const { server, client, s, c } = await pair(
    { scenario: 'uas-auth-answer-pcap.xml', vars: { user: creds.username, pass: creds.password }, mediaPort: uasMedia.port },
    { scenario: 'uac-call-pcap.xml', auth: creds, vars: { from: CALLER }, mediaPort: uacMedia.port, durationMs: 3000 },
  );
  expectSipp(s, { finalStatus: 200 });
  expectSipp(c, { finalStatus: 200 });
  assert.deepEqual(c.receivedStatuses, [401, 100, 180, 200, 200]);
  assert.deepEqual(s.sentRequests, []);
  assert.deepEqual(c.sentRequests, ['INVITE', 'ACK', 'INVITE', 'ACK', 'BYE']);
  assert.deepEqual(s.auth.map((a) => [a.header, a.username, a.valid]), [['Authorization', 'astral', true]]);
  assert.equal(c.callIds.length, 1);
  assert.deepEqual(s.callIds, c.callIds);
  const inbound = c.messages.find((m) => m.method === 'INVITE' && m.direction === 'sent')!;
  assert.match(inbound.firstLine, new RegExp(`^INVITE sip:${NUMBER}@127\\.0\\.0\\.1:${server.port} `));
  assert.match(inbound.header('From')!, new RegExp(`sip:${CALLER}@`));
  for (const cap of [await uasMedia.cap.stop(), await uacMedia.cap.stop()]) {
    assert.equal(cap.mainPt, 8);
    assert.ok(cap.packets > 80, `packets ${cap.packets}`);
    assert.ok(isNotSilent(cap.pcm), `rms ${rms(cap.pcm)}`);
  }
  assert.ok(client.port > 0);
  done(s, c);
});

test('TCP: carrier UAS hangs up; UAC waits for the BYE and sends DTMF 1#5 in its audio stream', async () => {
  const uasMedia = await captureAfter();
  const { s, c } = await pair(
    { scenario: 'uas-auth-answer-pcap-bye.xml', transport: 'tcp', vars: { user: creds.username, pass: creds.password }, mediaPort: uasMedia.port, durationMs: 4500 },
    { scenario: 'uac-call-pcap-wait-bye.xml', auth: creds, vars: { from: CALLER }, dtmf: '1#5', dtmfAtMs: 500 },
  );
  expectSipp(s, { finalStatus: 200 });
  expectSipp(c, { finalStatus: 200 });
  assert.deepEqual(s.sentRequests, ['BYE']);
  assert.ok(c.messages.every((m) => m.transport === 'TCP'));
  const cap = await uasMedia.cap.stop();
  assert.equal(cap.digits, '1#5');
  assert.equal(cap.ssrcs.length, 1, 'DTMF rides in the audio stream');
  assert.deepEqual(Object.keys(cap.payloadTypes).sort(), ['101', '8']);
  assert.ok(cap.telephoneEvents.every((e) => e.ended && e.duration === 1280));
  done(s, c);
});

test('wrong password: the UAS answers 403 and the UAC reports it as its final status', async () => {
  const { s, c } = await pair(
    { scenario: 'uas-auth-answer-pcap.xml', vars: { user: creds.username, pass: 'other' } },
    { scenario: 'uac-call-pcap.xml', auth: creds, vars: { from: CALLER } },
  );
  expectSipp(c, { finalStatus: 403 });
  assert.deepEqual(s.sentStatuses, [401, 403]);
  assert.equal(s.auth[0]!.valid, false);
  done(s, c);
});

test('407 challenge: the harness checks the Proxy-Authorization digest', async () => {
  const { s, c } = await pair(
    { scenario: 'uas-auth407-answer-pcap.xml', vars: { user: creds.username, pass: creds.password } },
    { scenario: 'uac-call-pcap.xml', auth: creds, vars: { from: CALLER }, durationMs: 1000 },
  );
  expectSipp(s, { finalStatus: 200 });
  expectSipp(c, { finalStatus: 200 });
  assert.deepEqual(s.sentStatuses.slice(0, 1), [407]);
  assert.deepEqual(s.auth.map((a) => [a.header, a.valid]), [['Proxy-Authorization', true]]);
  const bad = await pair(
    { scenario: 'uas-auth407-answer-pcap.xml', vars: { user: creds.username, pass: 'other' } },
    { scenario: 'uac-call-pcap.xml', auth: creds, vars: { from: CALLER }, durationMs: 500 },
  );
  assert.equal(bad.s.auth[0]!.valid, false, 'a wrong password is caught by the harness');
  done(s, c, bad.s, bad.c);
});

for (const [scenario, status] of [['uas-busy.xml', 486], ['uas-fail-503.xml', 503]] as const) {
  test(`${scenario}: the UAC's final status is ${status}`, async () => {
    const { s, c } = await pair({ scenario }, { scenario: 'uac-call-pcap.xml', vars: { from: CALLER } });
    expectSipp(s, { finalStatus: status });
    expectSipp(c, { finalStatus: status });
    assert.deepEqual(c.sentRequests, ['INVITE', 'ACK']);
    done(s, c);
  });
}

test('no answer: UAC cancels after 180; 200 to CANCEL, 487 to INVITE, ACK', async () => {
  const { s, c } = await pair({ scenario: 'uas-no-answer.xml' }, { scenario: 'uac-cancel.xml', vars: { from: CALLER } });
  expectSipp(s, { finalStatus: 487 });
  expectSipp(c, { finalStatus: 487 });
  assert.deepEqual(c.sentRequests, ['INVITE', 'CANCEL', 'ACK']);
  assert.deepEqual(s.sentStatuses, [100, 180, 200, 487]);
  const cancel = c.messages.find((m) => m.method === 'CANCEL')!;
  const invite = c.messages.find((m) => m.method === 'INVITE')!;
  assert.equal(cancel.header('Via'), invite.header('Via'));
  done(s, c);
});

test('early media: 183 with SDP and audio before the 200', async () => {
  const uacMedia = await captureAfter();
  const { s, c } = await pair(
    { scenario: 'uas-early-media.xml' },
    { scenario: 'uac-call-pcap.xml', vars: { from: CALLER }, mediaPort: uacMedia.port, durationMs: 1000 },
  );
  expectSipp(c, { finalStatus: 200 });
  assert.deepEqual(c.receivedStatuses.slice(0, 3), [100, 183, 200]);
  const cap = await uacMedia.cap.stop();
  const ok = c.messages.find((m) => m.status === 200 && m.cseq.method === 'INVITE')!;
  const answeredAt = new Date(ok.time.replace(' ', 'T')).getTime();
  const early = cap.rtp.filter((r) => r.time < answeredAt - 100).length;
  assert.ok(early >= 50, `early RTP packets ${early}`);
  done(s, c);
});

test('a UAS answers an out-of-call OPTIONS keepalive 200 and still takes its call', async () => {
  const server = await startSipp({ scenario: 'uas-busy.xml' });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const reply = new Promise<string>((r) => sock.once('message', (m) => r(m.toString().split('\r\n')[0]!)));
  const { port } = sock.address();
  sock.send(
    `OPTIONS sip:carrier@127.0.0.1:${server.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKopt1\r\n` +
      `From: <sip:astral@127.0.0.1>;tag=1\r\nTo: <sip:carrier@127.0.0.1>\r\nCall-ID: keepalive-1\r\nCSeq: 1 OPTIONS\r\n` +
      `Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
    server.port,
    '127.0.0.1',
  );
  assert.equal(await reply, 'SIP/2.0 200 OK');
  sock.close();
  const client = await startSipp({ scenario: 'uac-call-pcap.xml', remote: server.address, service: NUMBER, vars: { from: CALLER } });
  const [s, c] = await Promise.all([server.done, client.done]);
  expectSipp(s, { finalStatus: 486 });
  expectSipp(c, { finalStatus: 486 });
  done(s, c);
});

test('a UAS nobody calls stops at its timeout; the result says no call ran', async () => {
  const t0 = Date.now();
  const server = await startSipp({ scenario: 'uas-busy.xml', timeoutS: 2 });
  const r = await server.done;
  assert.ok(Date.now() - t0 < 6000);
  assert.equal(r.stats.successful, 0);
  assert.equal(r.finalStatus, undefined);
  assert.throws(() => expectSipp(r), /successful calls 0/);
  done(r);
});

test('stop() ends a waiting UAS', async () => {
  const server = await startSipp({ scenario: 'uas-no-answer.xml', timeoutS: 60 });
  const r = await server.stop();
  assert.equal(r.killed, false);
  done(r);
});

test('dominantFrequency finds a synthetic 8 kHz tone', () => {
  const pcm = new Int16Array(8000);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1004 * i) / 8000));
  const d = dominantFrequency(pcm);
  assert.ok(Math.abs(d.frequency - 1004) <= 5, String(d.frequency));
});

/** A free media port with a capture already running on it. */
async function captureAfter() {
  const { freeMediaPort } = await import('./sipp.js');
  const port = await freeMediaPort();
  return { port, cap: await captureRtp({ port }) };
}
