// SIP transports: one UDP socket and one TCP listener on the same port (plus a TLS listener when a certificate is
// configured), outgoing TCP/TLS connections, stream framing, size limits, garbage dropping.
// The `sip` library's own transports are not used: they cannot bind port 0, crash the process on bind errors (no
// 'error' listener), frame TCP recursively and silently, and log with console.log. Parsing and serialising are the
// library's (`sip.parse`, `sip.stringify`); this file only frames, limits and routes bytes.
import dgram from 'node:dgram';
import net from 'node:net';
import type tls from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import sip, { type Connection, type SipMessage } from 'sip';
import { LogLimiter } from './limits.js';
import { closeTls, connectTls, listenTls, trustedCas, type TlsListenOptions } from './tls.js';

export type Protocol = 'UDP' | 'TCP' | 'TLS';

export interface Remote {
  protocol: Protocol;
  address: string;
  port: number;
  /**
   * TLS only: the name (or IP) the peer's certificate must carry: a trunk's host. Absent (a Contact or Via address met
   * in a dialog): any TLS flow to the address and port will do, and a new connection is checked against `address`.
   */
  servername?: string;
}

export interface TransportOptions {
  ip: string;
  port: number;
  announcedIp: string;
  maxMessageBytes?: number;
  maxHeaderBytes?: number;
  maxTcpConnections?: number;
  /** Accept SIP over TLS too (RFC 3261 §26). */
  tls?: TlsListenOptions | null;
  /** Extra CA certificates (PEM) trusted for outgoing TLS, besides Node's bundled root CAs. */
  tlsCa?: string | Buffer | null;
}

type Handler = (m: SipMessage, remote: Remote) => void;

interface StreamFlow {
  socket: net.Socket;
  errorListeners: Set<(e: Error) => void>;
  valid: boolean;
}

/** Outgoing TLS flows are keyed by the name their certificate was checked for too. */
const flowKey = (r: Remote): string => `${r.protocol}:${r.address}:${r.port}:${r.servername ?? ''}`;

const CRLF2 = '\r\n\r\n';

export class SipTransportLayer {
  private readonly flows = new Map<string, StreamFlow>();
  private readonly maxMessage: number;
  private readonly maxHeader: number;
  private readonly maxConns: number;
  private readonly ca: (string | Buffer)[] | undefined;
  private closed = false;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    private readonly tlsServer: tls.Server | null,
    readonly port: number,
    /** The TLS listener's port, null when not listening for TLS. */
    readonly tlsPort: number | null,
    private readonly opts: TransportOptions,
    private readonly log: FastifyBaseLogger,
    readonly limiter: LogLimiter,
    private readonly handler: Handler,
  ) {
    this.maxMessage = opts.maxMessageBytes ?? 64 * 1024;
    this.maxHeader = opts.maxHeaderBytes ?? 16 * 1024;
    this.maxConns = opts.maxTcpConnections ?? 2000;
    this.ca = trustedCas(opts.tlsCa);
  }

  /** Binds UDP and TCP on the same port (an ephemeral one both accept when `opts.port` is 0), and TLS when configured. */
  static async bind(opts: TransportOptions, log: FastifyBaseLogger, handler: Handler): Promise<SipTransportLayer> {
    const limiter = new LogLimiter(log);
    let lastErr: unknown;
    for (let attempt = 0; attempt < (opts.port === 0 ? 20 : 1); attempt++) {
      const udp = dgram.createSocket(net.isIPv6(opts.ip) ? 'udp6' : 'udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(opts.port, opts.ip, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        throw err;
      }
      const port = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, opts.ip, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        lastErr = err;
        udp.close();
        continue;
      }
      let tlsServer: tls.Server | null = null;
      if (opts.tls) {
        try {
          tlsServer = await listenTls(opts.tls, opts.ip);
        } catch (err) {
          udp.close();
          tcp.close();
          throw err;
        }
      }
      const tlsPort = tlsServer ? (tlsServer.address() as net.AddressInfo).port : null;
      const layer = new SipTransportLayer(udp, tcp, tlsServer, port, tlsPort, opts, log, limiter, handler);
      layer.attach();
      return layer;
    }
    throw lastErr instanceof Error ? lastErr : new Error('could not bind the SIP port');
  }

  private attach(): void {
    this.udp.on('error', (err) => this.limiter.warn('udp-error', { err: err.message }, 'sip: UDP socket error'));
    this.udp.on('message', (data, rinfo) => {
      try {
        this.onDatagram(data, { protocol: 'UDP', address: rinfo.address, port: rinfo.port });
      } catch (err) {
        this.limiter.warn('handler-error', { err }, 'sip: error handling a datagram');
      }
    });
    this.tcp.on('error', (err) => this.limiter.warn('tcp-error', { err: err.message }, 'sip: TCP server error'));
    this.tcp.on('connection', (socket) => this.accept(socket, 'TCP'));
    if (this.tlsServer) {
      this.tlsServer.maxConnections = this.maxConns;
      this.tlsServer.on('error', (err) => this.limiter.warn('tls-error', { err: err.message }, 'sip: TLS server error'));
      this.tlsServer.on('tlsClientError', (err, socket) =>
        this.limiter.warn('tls-handshake', { err: err.message, source: socket.remoteAddress }, 'sip: TLS handshake failed'),
      );
      this.tlsServer.on('secureConnection', (socket) => this.accept(socket, 'TLS'));
    }
  }

  private accept(socket: net.Socket, protocol: 'TCP' | 'TLS'): void {
    try {
      if (this.flows.size >= this.maxConns || this.closed) {
        this.limiter.warn('tcp-cap', { source: socket.remoteAddress, transport: protocol }, 'sip: too many connections, refused one');
        socket.destroy();
        return;
      }
      this.addFlow(socket, { protocol, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
    } catch (err) {
      this.limiter.warn('handler-error', { err }, `sip: error accepting a ${protocol} connection`);
      socket.destroy();
    }
  }

  private drop(kind: string, remote: Remote, bytes: number, why: string): void {
    this.limiter.warn(`drop-${kind}`, { source: `${remote.address}:${remote.port}`, transport: remote.protocol, bytes, why }, 'sip: dropped a message');
  }

  private onDatagram(data: Buffer, remote: Remote): void {
    if (data.length <= 4 && /^[\r\n\0 ]*$/.test(data.toString('latin1'))) return; // keep-alive
    if (data.length > this.maxMessage) return this.drop('oversize', remote, data.length, 'message too large');
    const text = data.toString('latin1');
    const end = text.indexOf(CRLF2);
    if (end < 0) return this.drop('garbage', remote, data.length, 'no header terminator');
    if (end > this.maxHeader) return this.drop('oversize', remote, data.length, 'header section too large');
    let m: SipMessage | undefined;
    try {
      m = sip.parse(text);
    } catch {
      m = undefined;
    }
    if (!m || !this.valid(m)) return this.drop('garbage', remote, data.length, 'unparseable');
    const cl = m.headers['content-length'];
    if (typeof cl === 'number' && cl > text.length - end - 4) return this.drop('truncated', remote, data.length, 'body shorter than Content-Length');
    this.deliver(m, remote);
  }

  /** The library's checkMessage plus what the layers above rely on. */
  private valid(m: SipMessage): boolean {
    const h = m.headers;
    if (!h || !Array.isArray(h.via) || h.via.length === 0 || !h.via[0]?.params) return false;
    if (typeof h['call-id'] !== 'string' || !h['call-id'] || !h.to || !h.from || !h.cseq) return false;
    if (typeof h.cseq.seq !== 'number' || !Number.isFinite(h.cseq.seq) || !h.cseq.method) return false;
    if (typeof h.to.uri !== 'string' || typeof h.from.uri !== 'string') return false;
    if (m.method) {
      if (!/^[A-Z]+$/.test(m.method) || typeof m.uri !== 'string') return false;
      if (m.method !== 'ACK' && m.method !== 'CANCEL' && h.cseq.method !== m.method) return false;
      return true;
    }
    return typeof m.status === 'number' && m.status >= 100 && m.status <= 699;
  }

  private deliver(m: SipMessage, remote: Remote): void {
    if (m.method) {
      const via = m.headers.via[0]!;
      via.params.received = remote.address;
      if (Object.prototype.hasOwnProperty.call(via.params, 'rport')) via.params.rport = remote.port;
    }
    try {
      this.handler(m, remote);
    } catch (err) {
      this.limiter.warn('handler-error', { err }, 'sip: error handling a message');
    }
  }

  private addFlow(socket: net.Socket, remote: Remote, outgoing = false): StreamFlow {
    const key = flowKey(remote);
    // Accepted connections get 30 s to send a first valid message; flows in use (or ours) stay up to 1 h idle.
    const flow: StreamFlow = { socket, errorListeners: new Set(), valid: outgoing };
    this.flows.set(key, flow);
    let buf = '';
    const fail = (kind: string, why: string) => {
      this.drop(kind, remote, buf.length, `${why}; connection closed`);
      buf = '';
      socket.destroy();
    };
    socket.setNoDelay(true);
    socket.setTimeout(outgoing ? 3_600_000 : 30_000);
    socket.on('timeout', () => {
      if (!flow.valid || flow.errorListeners.size === 0) socket.destroy();
    });
    let lastError: Error | null = null;
    socket.on('error', (err) => {
      lastError = err;
      if (remote.protocol === 'TLS' && outgoing) {
        this.limiter.warn('tls-connect', { err: err.message, target: `${remote.servername ?? remote.address}:${remote.port}` }, 'sip: TLS connection failed');
      }
    });
    socket.on('close', () => {
      if (this.flows.get(key) === flow) this.flows.delete(key);
      const why = lastError ? lastError.message : 'connection closed';
      const err = new Error(remote.protocol === 'TLS' ? `TLS: ${why}` : why);
      for (const l of [...flow.errorListeners]) {
        try {
          l(err);
        } catch {
          /* a listener's failure must not stop the others */
        }
      }
      flow.errorListeners.clear();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        buf += chunk.toString('latin1');
        for (;;) {
          if (buf.startsWith(CRLF2)) {
            socket.write('\r\n'); // RFC 5626 keep-alive pong
            buf = buf.slice(4);
            continue;
          }
          const lead = /^[\r\n]+/.exec(buf);
          if (lead && lead[0].length < buf.length) buf = buf.slice(lead[0].length);
          const end = buf.indexOf(CRLF2);
          if (end < 0) {
            if (buf.length > this.maxHeader) fail('oversize', 'header section too large');
            return;
          }
          if (end > this.maxHeader) return fail('oversize', 'header section too large');
          let m: SipMessage | undefined;
          try {
            m = sip.parse(buf.slice(0, end + 4));
          } catch {
            m = undefined;
          }
          if (!m || !this.valid(m)) return fail('garbage', 'unparseable');
          const cl = m.headers['content-length'];
          if (typeof cl !== 'number' || !Number.isFinite(cl) || cl < 0) return fail('garbage', 'no Content-Length on a stream');
          if (end + 4 + cl > this.maxMessage) return fail('oversize', 'message too large');
          if (buf.length < end + 4 + cl) return;
          m.content = buf.slice(end + 4, end + 4 + cl);
          buf = buf.slice(end + 4 + cl);
          if (!flow.valid) {
            flow.valid = true;
            socket.setTimeout(3_600_000);
          }
          this.deliver(m, remote);
          if (socket.destroyed) return;
        }
      } catch (err) {
        this.limiter.warn('handler-error', { err }, `sip: error reading a ${remote.protocol} stream`);
        socket.destroy();
      }
    });
    return flow;
  }

  /**
   * The open flow to `r`. A TLS target with a name needs a flow checked for that name; one without takes any TLS
   * flow to that address and port.
   */
  private findFlow(r: Remote): StreamFlow | undefined {
    const key = flowKey(r);
    const f = this.flows.get(key);
    if (f && !f.socket.destroyed) return f;
    if (r.protocol !== 'TLS' || r.servername) return undefined;
    for (const [k, g] of this.flows) if (k.startsWith(key) && !g.socket.destroyed) return g;
    return undefined;
  }

  /** An open flow to `target`, else a new connection (TLS: the certificate checked against the name, else the address). */
  private streamFlow(target: Remote): StreamFlow {
    const existing = this.findFlow(target);
    if (existing) return existing;
    const socket =
      target.protocol === 'TLS'
        ? connectTls(target, this.ca)
        : net.connect({ host: target.address, port: target.port });
    return this.addFlow(socket, { ...target }, true);
  }

  /** Stamps our Via on requests (host = announced IP, our port, the transport) and serialises the message. */
  private serialise(m: SipMessage, protocol: Protocol): Buffer {
    if (m.method) {
      const via = m.headers.via[0];
      if (via) {
        via.host = this.opts.announcedIp.includes(':') ? `[${this.opts.announcedIp}]` : this.opts.announcedIp;
        via.port = protocol === 'TLS' ? (this.tlsPort ?? this.port) : this.port;
        via.protocol = protocol;
        if (protocol === 'UDP' && !('rport' in via.params)) via.params.rport = null;
      }
    }
    return Buffer.from(sip.stringify(m), 'latin1');
  }

  /** A connection to `target` for the transaction layer (UDP: a destination; TCP/TLS: an existing or new flow). */
  open(target: Remote, onError?: (e: Error) => void): Connection {
    if (target.protocol === 'UDP') {
      return {
        protocol: 'UDP',
        release: () => undefined,
        send: (m) => {
          if (this.closed) return;
          try {
            const data = this.serialise(m, 'UDP');
            this.udp.send(data, target.port, target.address, (err) => {
              if (err) {
                this.limiter.warn('udp-send', { err: err.message, target: `${target.address}:${target.port}` }, 'sip: UDP send failed');
                onError?.(err);
              }
            });
          } catch (err) {
            this.limiter.warn('udp-send', { err, target: `${target.address}:${target.port}` }, 'sip: UDP send failed');
          }
        },
      };
    }
    const flow = this.streamFlow(target);
    if (onError) flow.errorListeners.add(onError);
    let released = false;
    return {
      protocol: target.protocol,
      release: () => {
        if (released) return;
        released = true;
        if (onError) flow.errorListeners.delete(onError);
      },
      send: (m) => {
        if (this.closed || flow.socket.destroyed) return;
        try {
          flow.socket.write(this.serialise(m, target.protocol));
        } catch (err) {
          this.limiter.warn('tcp-send', { err, transport: target.protocol }, 'sip: stream send failed');
        }
      },
    };
  }

  /** Whether a TCP/TLS flow to this remote is open (reused for in-dialog requests). */
  hasFlow(r: Remote): boolean {
    return this.findFlow(r) !== undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.flows.values()) f.socket.destroy();
    this.flows.clear();
    await Promise.all([
      new Promise<void>((r) => this.tcp.close(() => r())),
      this.tlsServer ? closeTls(this.tlsServer) : undefined,
      new Promise<void>((r) => {
        try {
          this.udp.close(() => r());
        } catch {
          r();
        }
      }),
    ]);
  }
}
