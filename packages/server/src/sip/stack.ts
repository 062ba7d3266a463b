// The SIP stack core: the library's transaction layer over our transports, message dispatch, requests to targets.
import dns from 'node:dns/promises';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import sip, { type ClientTransaction, type ServerTransaction, type SipMessage, type SipUri, type TransactionLayer } from 'sip';
import type { FastifyBaseLogger } from 'fastify';
import { SipTransportLayer, type Protocol, type Remote, type TransportOptions } from './transport.js';

export interface Target {
  protocol: Protocol;
  host: string;
  port: number;
  /** TLS to a trunk: check the certificate against `host` and use only flows checked for it (see Remote.servername). */
  verifyHost?: boolean;
}

/** Why a response was made up locally rather than received. */
export type Synthetic = 'timeout' | 'transport' | null;

export type ResponseCallback = (rs: SipMessage, synthetic: Synthetic) => void;

export interface RequestHandle {
  /** Stops the transaction (no more retransmissions, no more callbacks). */
  stop(): void;
  /** The request as sent (Via with the branch), once it was handed to the transaction layer. */
  sent(): SipMessage | null;
}

export interface StackHandlers {
  /** A new request (not a retransmission, not an ACK): false drops it before any transaction exists. */
  admit(m: SipMessage, remote: Remote): boolean;
  request(m: SipMessage, remote: Remote, tx: ServerTransaction): void;
  ack(m: SipMessage, remote: Remote): void;
  strayResponse(m: SipMessage, remote: Remote): void;
}

export const randomToken = (bytes = 8): string => randomBytes(bytes).toString('hex');

/** Where a URI points (RFC 3263 without DNS SRV/NAPTR): its transport parameter (a `sips:` URI: TLS), else `fallback`. */
export function targetOfUri(uri: string | SipUri | undefined, fallback: Protocol): Target | null {
  const u = uri ? sip.parseUri(uri) : undefined;
  if (!u || !u.host) return null;
  const t = (u.params.transport ?? '').toString().toUpperCase();
  const protocol: Protocol = t === 'TCP' || t === 'UDP' || t === 'TLS' ? t : u.schema === 'sips' ? 'TLS' : fallback;
  return { protocol, host: u.host.replace(/^\[|\]$/g, ''), port: u.port || (protocol === 'TLS' ? 5061 : 5060) };
}

export class SipStack {
  readonly tl: TransactionLayer;
  private handlers: StackHandlers | null = null;
  private closed = false;

  private constructor(
    readonly transport: SipTransportLayer,
    readonly announcedIp: string,
    readonly log: FastifyBaseLogger,
  ) {
    this.tl = sip.makeTransactionLayer({}, (target, onError) => this.transport.open(target as Remote, onError));
  }

  static async start(opts: TransportOptions, log: FastifyBaseLogger): Promise<SipStack> {
    let stack: SipStack | null = null;
    const transport = await SipTransportLayer.bind(opts, log, (m, remote) => stack?.dispatch(m, remote));
    stack = new SipStack(transport, opts.announcedIp, log);
    return stack;
  }

  get port(): number {
    return this.transport.port;
  }

  get tlsPort(): number | null {
    return this.transport.tlsPort;
  }

  setHandlers(h: StackHandlers): void {
    this.handlers = h;
  }

  private dispatch(m: SipMessage, remote: Remote): void {
    if (this.closed || !this.handlers) return;
    if (m.method) {
      const t = this.tl.getServer(m);
      if (t) return t.message(m, remote);
      if (m.method === 'ACK') return this.handlers.ack(m, remote);
      if (!this.handlers.admit(m, remote)) return;
      const tx = this.tl.createServerTransaction(m, this.transport.open(remote));
      try {
        this.handlers.request(m, remote, tx);
      } catch (err) {
        tx.send(sip.makeResponse(m, 500, 'Server Internal Error'));
        throw err;
      }
    } else {
      const t = this.tl.getClient(m);
      if (t) return t.message(m, remote);
      this.handlers.strayResponse(m, remote);
    }
  }

  /** Responds statelessly (no transaction): used for the INVITE flood guard. */
  replyStateless(m: SipMessage, remote: Remote, status: number, reason: string, headers: Record<string, unknown> = {}): void {
    const cn = this.transport.open(remote);
    cn.send(sip.makeResponse(m, status, reason, { headers }));
    cn.release();
  }

  /** The address to connect to; TLS to a trunk keeps its host for the certificate check (SNI and subjectAltName). */
  private async resolve(target: Target): Promise<Remote> {
    const address = net.isIP(target.host) ? target.host : (await dns.lookup(target.host)).address;
    const remote: Remote = { protocol: target.protocol, address, port: target.port };
    if (target.protocol === 'TLS' && target.verifyHost) remote.servername = target.host;
    return remote;
  }

  /**
   * Sends a request in a client transaction (the library's state machines: retransmissions, timers B/F, ACK of
   * non-2xx). `flow`, when given and still open, is used instead of `target` (in-dialog requests over a peer's TCP/TLS
   * connection). `timeoutMs` ends the transaction early with a synthetic 408.
   */
  request(rq: SipMessage, target: Target, cb: ResponseCallback, opts: { flow?: Remote | null; timeoutMs?: number; keepVia?: boolean } = {}): RequestHandle {
    let tx: ClientTransaction | null = null;
    let done = false;
    let sentRq: SipMessage | null = null;
    let timer: NodeJS.Timeout | null = null;
    const finish = () => {
      done = true;
      if (timer) clearTimeout(timer);
      tx?.shutdown();
    };
    const synth = (why: Exclude<Synthetic, null>, reason: string) => {
      if (done) return;
      finish();
      const rs = sip.makeResponse(rq, 408, reason);
      try {
        cb(rs, why);
      } catch (err) {
        this.log.error({ err }, 'sip: response handler failed');
      }
    };
    if (timeoutMs(opts.timeoutMs)) timer = setTimeout(() => synth('timeout', 'Request Timeout'), opts.timeoutMs);
    const go = (remote: Remote) => {
      if (done || this.closed) return;
      if (!opts.keepVia || !rq.headers.via?.length) rq.headers.via = [{ params: {} }];
      const cn = this.transport.open(remote, (err) => synth('transport', `Transport Error (${err.message})`));
      sentRq = rq;
      tx = this.tl.createClientTransaction(cn, rq, (rs) => {
        if (done) return;
        const synthetic = rs.headers.to === rq.headers.to && rs.headers.via === rq.headers.via;
        if (synthetic) {
          finish();
          rs.reason = 'Request Timeout';
        } else if (rs.status && rs.status >= 200 && rq.method !== 'INVITE') {
          if (timer) clearTimeout(timer);
        }
        try {
          cb(rs, synthetic ? 'timeout' : null);
        } catch (err) {
          this.log.error({ err }, 'sip: response handler failed');
        }
      });
    };
    const flow = opts.flow;
    if (flow && flow.protocol !== 'UDP' && this.transport.hasFlow(flow)) go(flow);
    else
      this.resolve(target).then(go, (err: Error) =>
        setImmediate(() => synth('transport', `Transport Error (cannot resolve ${target.host}: ${err.message})`)),
      );
    return {
      stop: () => {
        if (!done) finish();
      },
      sent: () => sentRq,
    };
  }

  /** Sends an ACK for a 2xx (its own transaction, so stateless here). */
  sendStateless(m: SipMessage, target: Target, flow?: Remote | null): void {
    const go = (remote: Remote) => {
      if (this.closed) return;
      if (!m.headers.via || m.headers.via.length === 0) m.headers.via = [{ params: { branch: sip.generateBranch() + randomToken(4) } }];
      const cn = this.transport.open(remote);
      cn.send(m);
      cn.release();
    };
    if (flow && flow.protocol !== 'UDP' && this.transport.hasFlow(flow)) go(flow);
    else this.resolve(target).then(go, (err: Error) => this.log.warn({ err: err.message, host: target.host }, 'sip: cannot resolve'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tl.destroy();
    await this.transport.close();
  }
}

function timeoutMs(v: number | undefined): v is number {
  return typeof v === 'number' && v > 0;
}
