// SIP over TLS (RFC 3261 §26) pieces for the transport layer: the listener, outgoing connections with the peer's
// certificate checked (Node's bundled root CAs plus ASTRAL_SIP_TLS_CA), SNI. Framing is the same as TCP's (transport.ts).
import net from 'node:net';
import tls from 'node:tls';
import type { Remote } from './transport.js';

/** The TLS listener (PEM contents); port 0 binds an ephemeral one. */
export interface TlsListenOptions {
  port: number;
  cert: string | Buffer;
  key: string | Buffer;
}

/** The CAs outgoing TLS trusts: undefined (Node's default roots) unless an extra CA is given, then the roots and it. */
export const trustedCas = (extra: string | Buffer | null | undefined): (string | Buffer)[] | undefined =>
  extra ? [...tls.rootCertificates, extra] : undefined;

/** The SNI name (never an IP, RFC 6066; without it Node checks the certificate against the IP connected to). */
const sni = (name: string | undefined): string | undefined => (name && !net.isIP(name) ? name : undefined);

/** A connection to `target`; the certificate must chain to `ca` and name `target.servername` (else its address). */
export function connectTls(target: Remote, ca: (string | Buffer)[] | undefined): tls.TLSSocket {
  return tls.connect({ host: target.address, port: target.port, servername: sni(target.servername), ca });
}

/** A listener's raw connections (those still shaking hands are no flows yet): destroyed when it closes. */
const handshaking = new WeakMap<tls.Server, Set<net.Socket>>();

/** A TLS listener (handshakes must finish within 10 s). */
export async function listenTls(o: TlsListenOptions, ip: string): Promise<tls.Server> {
  const server = tls.createServer({ cert: o.cert, key: o.key, handshakeTimeout: 10_000 });
  const pending = new Set<net.Socket>();
  handshaking.set(server, pending);
  server.on('connection', (s: net.Socket) => {
    pending.add(s);
    s.once('close', () => pending.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Stops listening and drops its connections, those still shaking hands included (close() never waits on them). */
export function closeTls(server: tls.Server): Promise<void> {
  for (const s of handshaking.get(server) ?? []) s.destroy();
  return new Promise((r) => server.close(() => r()));
}
