// SIP over TLS: outbound calls and trunk monitoring to a node:tls carrier (Debian's SIPp is built without TLS), an
// inbound call between two SipUserAgents, certificate checks (unknown CA, wrong name), ASTRAL_SIP_TLS_* config.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { OutboundInvite, TrunkStatus, TrunkTarget } from '../src/sip/types.js';
import { SipUserAgent } from '../src/sip/user-agent.js';
import { loadConfig, ConfigError } from '../src/config.js';
import { ANSWER, OFFER, captureLogger, header, responseTo, until } from './sip-helpers.js';

const T = { timeout: 20_000 };

/** A throwaway CA and two leaf certificates it signed: `ip` (localhost and 127.0.0.1) and `dns` (localhost only). */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Astral Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, san: string) => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost');
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
    return { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  };
  return { ca: readFileSync(join(dir, 'ca.pem')), caFile: join(dir, 'ca.pem'), ip: leaf('ip', 'DNS:localhost,IP:127.0.0.1'), dns: leaf('dns', 'DNS:localhost') };
}

interface Received {
  text: string;
  socket: tls.TLSSocket;
}

/** The carrier side: a TLS listener that frames SIP messages by Content-Length; OPTIONS and REGISTER get 200 at once. */
class TlsCarrier {
  readonly received: Received[] = [];
  readonly sockets: tls.TLSSocket[] = [];
  private waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  private constructor(private readonly server: tls.Server) {}

  static async listen(creds: { cert: Buffer; key: Buffer }): Promise<TlsCarrier> {
    const server = tls.createServer(creds);
    const peer = new TlsCarrier(server);
    server.on('secureConnection', (s) => peer.attach(s));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return peer;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  private attach(socket: tls.TLSSocket): void {
    this.sockets.push(socket);
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const cl = Number(header(buf.slice(0, end), 'Content-Length') ?? 0);
        if (buf.length < end + 4 + cl) return;
        const text = buf.slice(0, end + 4 + cl);
        buf = buf.slice(end + 4 + cl);
        this.onMessage({ text, socket });
      }
    });
  }

  private onMessage(m: Received): void {
    this.received.push(m);
    if (/^(OPTIONS|REGISTER) /.test(m.text)) this.send(m.socket, responseTo(m.text, 200, 'OK', m.text.startsWith('REGISTER') ? 'Expires: 300' : ''));
    const w = this.waiters.find((x) => x.pred(m));
    if (w) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(m);
    }
  }

  wait(pred: (text: string) => boolean): Promise<Received> {
    const seen = this.received.find((m) => pred(m.text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred: (m) => pred(m.text), resolve }));
  }

  send(socket: tls.TLSSocket, text: string): void {
    socket.write(text);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'astral-sip-tls-'));
const pki = makePki(dir);
const log = captureLogger();
const start = (opts: Partial<Parameters<typeof SipUserAgent.start>[0]> = {}) =>
  SipUserAgent.start({ ip: '127.0.0.1', port: 0, announcedIp: '127.0.0.1', ...opts }, log);
// A: listens for TLS and trusts the test CA. B: system CAs only. C: trusts the test CA, no TLS listener.
const uaA = await start({ tls: { port: 0, cert: pki.ip.cert, key: pki.ip.key }, tlsCa: pki.ca });
const uaB = await start();
const uaC = await start({ tlsCa: pki.ca });
const carrier = await TlsCarrier.listen(pki.ip);
after(async () => {
  await Promise.all([uaA.close(), uaB.close(), uaC.close(), carrier.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const trunk = (port: number, host = '127.0.0.1'): TrunkTarget => ({ id: 't-tls', name: 'carrier', host, port, transport: 'tls', username: 'astral-user', password: 'pw', realm: null });

function outcome(call: OutboundInvite): Promise<{ kind: 'answered' } | { kind: 'failed'; status: number; reason: string }> {
  return new Promise((resolve) => {
    call.once('answered', () => resolve({ kind: 'answered' }));
    call.once('failed', (status: number, reason: string) => resolve({ kind: 'failed', status, reason }));
  });
}

test('outbound over TLS: Via SIP/2.0/TLS, Contact ;transport=tls; INVITE, 180, 200, ACK and BYE on one connection', T, async () => {
  const before = carrier.sockets.length;
  const call = uaA.invite({ trunk: trunk(carrier.port), toUser: '+15557654321', fromUser: '200', sdp: OFFER });
  const inv = await carrier.wait((m) => m.startsWith('INVITE '));
  assert.match(inv.text, new RegExp(`^INVITE sip:\\+15557654321@127\\.0\\.0\\.1:${carrier.port};transport=tls SIP/2\\.0\r\n`));
  assert.match(header(inv.text, 'Via') ?? '', new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${uaA.tlsPort};branch=`));
  assert.match(header(inv.text, 'Contact') ?? '', new RegExp(`127\\.0\\.0\\.1:${uaA.tlsPort};transport=tls>?$`));
  const progress = until(call, 'progress');
  carrier.send(inv.socket, responseTo(inv.text, 180, 'Ringing'));
  assert.equal((await progress)[0], 180);
  const answered = outcome(call);
  carrier.send(inv.socket, responseTo(inv.text, 200, 'OK', `Contact: <sip:carrier@127.0.0.1:${carrier.port};transport=tls>\r\nContent-Type: application/sdp`, ANSWER));
  assert.deepEqual(await answered, { kind: 'answered' });
  const ack = await carrier.wait((m) => m.startsWith('ACK '));
  assert.equal(ack.socket, inv.socket);
  assert.match(ack.text, /^ACK sip:carrier@127\.0\.0\.1:\d+;transport=tls /);
  call.bye();
  const bye = await carrier.wait((m) => m.startsWith('BYE '));
  assert.equal(bye.socket, inv.socket);
  carrier.send(bye.socket, responseTo(bye.text, 200, 'OK'));
  assert.equal(carrier.sockets.length - before <= 1, true, 'the connection is reused');
});

test('trunk host name checked against the certificate (SNI): localhost passes, 127.0.0.1 is not in a DNS-only cert', T, async () => {
  const dnsOnly = await TlsCarrier.listen(pki.dns);
  try {
    const ok = uaA.invite({ trunk: trunk(dnsOnly.port, 'localhost'), toUser: '100', fromUser: '200', sdp: OFFER });
    const inv = await dnsOnly.wait((m) => m.startsWith('INVITE '));
    assert.equal(inv.socket.servername, 'localhost');
    const rejected = outcome(ok);
    dnsOnly.send(inv.socket, responseTo(inv.text, 486, 'Busy Here'));
    assert.deepEqual(await rejected, { kind: 'failed', status: 486, reason: 'Busy Here' });
    const bad = await outcome(uaA.invite({ trunk: trunk(dnsOnly.port), toUser: '100', fromUser: '200', sdp: OFFER }));
    assert.equal(bad.kind, 'failed');
    if (bad.kind === 'failed') {
      assert.equal(bad.status, 408);
      assert.match(bad.reason, /TLS: .*(IP: 127\.0\.0\.1|altnames)/);
    }
  } finally {
    await dnsOnly.close();
  }
});

test('a certificate from an unknown CA: the call fails 408 naming the TLS error (A, given that CA, passes above)', T, async () => {
  const res = await outcome(uaB.invite({ trunk: trunk(carrier.port), toUser: '100', fromUser: '200', sdp: OFFER }));
  assert.equal(res.kind, 'failed');
  if (res.kind === 'failed') {
    assert.equal(res.status, 408);
    assert.match(res.reason, /^Transport Error \(TLS: .*certificate/);
  }
  assert.ok(log.lines.some((l) => l.msg === 'sip: TLS connection failed'));
});

test('monitor over TLS: OPTIONS → reachable, REGISTER (Contact ;transport=tls) → registered; unknown CA → unreachable', T, async () => {
  const statuses = (ua: SipUserAgent, register: boolean) =>
    new Promise<TrunkStatus>((resolve) => {
      const m = ua.monitor({ ...trunk(carrier.port), register }, (s) => {
        m.stop();
        resolve(s);
      });
    });
  assert.equal(await statuses(uaA, false), 'reachable');
  assert.equal(await statuses(uaA, true), 'registered');
  const reg = await carrier.wait((m) => m.startsWith('REGISTER '));
  assert.match(header(reg.text, 'Contact') ?? '', new RegExp(`:${uaA.tlsPort};transport=tls`));
  assert.match(header(reg.text, 'Via') ?? '', /^SIP\/2\.0\/TLS /);
  assert.equal(await statuses(uaB, false), 'unreachable');
});

test('inbound over TLS: one SipUserAgent calls another’s TLS listener; source.transport tls; 200/ACK/BYE on the connection', T, async () => {
  const incoming = new Promise<Parameters<typeof uaA.onInvite>[0]>((r) => (uaA.onInvite = r));
  const call = uaC.invite({ trunk: trunk(uaA.tlsPort!), toUser: '+15550001111', fromUser: '300', sdp: OFFER });
  const inv = await incoming;
  assert.equal(inv.source.transport, 'tls');
  assert.equal(inv.source.address, '127.0.0.1');
  assert.equal(inv.requestUser, '+15550001111');
  const answered = outcome(call);
  inv.progress(180);
  const acked = inv.accept(ANSWER);
  assert.deepEqual(await answered, { kind: 'answered' });
  await acked;
  const farBye = until(call, 'bye');
  inv.bye(); // C has no TLS listener: the BYE can only arrive over the connection C opened
  await farBye;
});

test('TLS listener robustness: garbage closes the connection; OPTIONS answered over it; close() does not wait on a stalled handshake', T, async () => {
  const connect = () =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: uaA.tlsPort!, ca: pki.ca }, () => resolve(s));
      s.once('error', reject);
    });
  const good = await connect();
  const answer = new Promise<string>((r) => good.once('data', (d: Buffer) => r(d.toString('latin1'))));
  const local = good.localPort;
  good.write(
    `OPTIONS sip:100@127.0.0.1:${uaA.tlsPort} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:${local};branch=z9hG4bK-tls-opt\r\n` +
      `From: <sip:raw@127.0.0.1>;tag=a\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: tls-opt-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
  assert.match(await answer, /^SIP\/2\.0 200 OK\r\n/);
  good.destroy();
  const bad = await connect();
  const closed = until(bad, 'close');
  bad.write('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n');
  await closed;
  const ua = await start({ tls: { port: 0, cert: pki.ip.cert, key: pki.ip.key } });
  const { createConnection } = await import('node:net');
  const stalled = createConnection(ua.tlsPort!, '127.0.0.1');
  stalled.on('error', () => undefined);
  await until(stalled, 'connect');
  const t0 = Date.now();
  await ua.close();
  assert.ok(Date.now() - t0 < 2000, 'closed without waiting for the handshake timeout');
  stalled.destroy();
});

test('config: ASTRAL_SIP_TLS_* (port default 5061, files must exist, cert and key together)', () => {
  const env = { ASTRAL_DATA_DIR: join(dir, 'data') };
  assert.deepEqual(loadConfig(env).sip.tls, { port: 5061, certFile: null, keyFile: null, caFile: null });
  const full = loadConfig({ ...env, ASTRAL_SIP_TLS_PORT: '0', ASTRAL_SIP_TLS_CERT: pki.ip.certFile, ASTRAL_SIP_TLS_KEY: pki.ip.keyFile, ASTRAL_SIP_TLS_CA: pki.caFile });
  assert.deepEqual(full.sip.tls, { port: 0, certFile: pki.ip.certFile, keyFile: pki.ip.keyFile, caFile: pki.caFile });
  assert.throws(() => loadConfig({ ...env, ASTRAL_SIP_TLS_CERT: pki.ip.certFile }), ConfigError);
  assert.throws(() => loadConfig({ ...env, ASTRAL_SIP_TLS_CA: join(dir, 'missing.pem') }), ConfigError);
});
