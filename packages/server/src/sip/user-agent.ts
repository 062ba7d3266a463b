// The server's SIP user agent: binds UDP+TCP, dispatches requests to new calls / dialogs, places calls, monitors trunks.
import type { FastifyBaseLogger } from 'fastify';
import sip, { type ServerTransaction, type SipMessage } from 'sip';
import type { InboundInvite, OutboundInvite, OutboundInviteOptions, SipUserAgentOptions, TrunkStatus, TrunkTarget } from './types.js';
import { SipStack } from './stack.js';
import type { Remote } from './transport.js';
import { ALLOW, type DialogBase, type UaContext } from './dialog.js';
import { InboundInviteImpl } from './inbound.js';
import { OutboundInviteImpl } from './outbound.js';
import { TrunkMonitor, type MonitorTiming } from './monitor.js';
import { NonceIssuer } from './auth.js';
import { TokenBuckets } from './limits.js';

/** Knobs beyond the contract (defaults are production values; tests shorten them). */
export interface SipUserAgentTuning extends Partial<MonitorTiming> {
  /** How long accept() waits for the ACK (timer H, 32 s). */
  ackTimeoutMs?: number;
  /** New INVITEs per second per source IP, and the burst allowed (20/s, 40). */
  inviteRate?: number;
  inviteBurst?: number;
  /** Any new request per second per source IP, and the burst (200/s, 400). */
  requestRate?: number;
  requestBurst?: number;
  userAgent?: string;
}

export class SipUserAgent {
  /** Every new, valid out-of-dialog INVITE. The default answers 480 until call control sets its own. */
  onInvite: (invite: InboundInvite) => void = (invite) => invite.reject(480);

  private readonly dialogs = new Map<string, DialogBase>();
  private readonly inviteTx = new Map<string, InboundInviteImpl>();
  private readonly monitors = new Set<{ stop(): void }>();
  private readonly nonces = new NonceIssuer();
  private readonly buckets: TokenBuckets;
  private readonly rejectBuckets = new TokenBuckets(5, 5);
  /** Any new request (each costs a transaction kept ~32 s): a looser bucket, dropping silently above it. */
  private readonly requestBuckets: TokenBuckets;
  private readonly ctx: UaContext;
  private readonly timing: MonitorTiming;
  private closed = false;

  private constructor(
    private readonly stack: SipStack,
    private readonly opts: SipUserAgentOptions & SipUserAgentTuning,
    private readonly log: FastifyBaseLogger,
  ) {
    this.buckets = new TokenBuckets(opts.inviteRate ?? 20, opts.inviteBurst ?? 40);
    this.requestBuckets = new TokenBuckets(opts.requestRate ?? 200, opts.requestBurst ?? 400);
    this.timing = {
      optionsIntervalMs: opts.optionsIntervalMs ?? 30_000,
      registerExpires: opts.registerExpires ?? 300,
      retryMs: opts.retryMs ?? 30_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 32_000,
    };
    const self = this;
    this.ctx = {
      stack,
      log,
      userAgent: opts.userAgent ?? 'Astral',
      ackTimeoutMs: opts.ackTimeoutMs ?? 32_000,
      contact(protocol, user = 'astral') {
        const host = opts.announcedIp.includes(':') ? `[${opts.announcedIp}]` : opts.announcedIp;
        if (protocol === 'TLS') return `sip:${user}@${host}:${self.tlsPort ?? self.port};transport=tls`;
        return `sip:${user}@${host}:${self.port}${protocol === 'TCP' ? ';transport=tcp' : ''}`;
      },
      addDialog: (d) => this.dialogs.set(d.key, d),
      removeDialog: (d) => {
        if (this.dialogs.get(d.key) === d) this.dialogs.delete(d.key);
      },
    };
    stack.setHandlers({
      admit: (m, remote) => this.admit(m, remote),
      request: (m, remote, tx) => this.onRequest(m, remote, tx),
      ack: (m) => this.dialogFor(m)?.onAck(m),
      strayResponse: () => undefined,
    });
  }

  static async start(opts: SipUserAgentOptions & SipUserAgentTuning, log: FastifyBaseLogger): Promise<SipUserAgent> {
    const stack = await SipStack.start({ ip: opts.ip, port: opts.port, announcedIp: opts.announcedIp, tls: opts.tls, tlsCa: opts.tlsCa }, log);
    const ua = new SipUserAgent(stack, opts, log);
    log.info({ ip: opts.ip, port: stack.port, tlsPort: stack.tlsPort, announcedIp: opts.announcedIp }, `sip: listening (udp, tcp${stack.tlsPort === null ? '' : ', tls'})`);
    return ua;
  }

  /** True from the listener's binding until close. */
  get listening(): boolean {
    return !this.closed;
  }

  get port(): number {
    return this.stack.port;
  }

  /** The TLS listener's port; null when not listening for TLS (outgoing TLS to trunks works regardless). */
  get tlsPort(): number | null {
    return this.stack.tlsPort;
  }

  private dialogFor(m: SipMessage): DialogBase | undefined {
    const tag = m.headers.to.params.tag;
    if (!tag) return undefined;
    const d = this.dialogs.get(`${m.headers['call-id']};${tag}`);
    if (!d) return undefined;
    const fromTag = m.headers.from.params.tag ?? null;
    return d.remoteTag === null || d.remoteTag === fromTag ? d : undefined;
  }

  /** The INVITE flood guard: a token bucket per source IP; over it, a few 503s, then silence. */
  private admit(m: SipMessage, remote: Remote): boolean {
    if (!this.requestBuckets.take(remote.address)) {
      this.stack.transport.limiter.warn('request-flood', { source: remote.address }, 'sip: request rate limit exceeded, dropping');
      return false;
    }
    if (m.method !== 'INVITE' || m.headers.to.params.tag) return true;
    if (this.buckets.take(remote.address)) return true;
    this.stack.transport.limiter.warn('invite-flood', { source: remote.address }, 'sip: INVITE rate limit exceeded, rejecting');
    if (this.rejectBuckets.take(remote.address)) this.stack.replyStateless(m, remote, 503, 'Service Unavailable', { 'retry-after': '5' });
    return false;
  }

  private reply(tx: ServerTransaction, m: SipMessage, status: number, reason: string, headers: Record<string, unknown> = {}): void {
    const rs = sip.makeResponse(m, status, reason, { headers: { 'user-agent': this.ctx.userAgent, ...headers } });
    if (status > 100 && !m.headers.to.params.tag) rs.headers.to = { ...m.headers.to, params: { ...m.headers.to.params, tag: Math.random().toString(36).slice(2, 10) } };
    tx.send(rs);
  }

  private onRequest(m: SipMessage, remote: Remote, tx: ServerTransaction): void {
    const method = m.method ?? '';
    if (method === 'CANCEL') {
      const inv = this.inviteTx.get(`${m.headers['call-id']};${m.headers.via[0]?.params.branch ?? ''}`);
      if (!inv) return this.reply(tx, m, 481, 'Call/Transaction Does Not Exist');
      this.reply(tx, m, 200, 'OK');
      inv.onCancel();
      return;
    }
    if (m.headers.to.params.tag) {
      const d = this.dialogFor(m);
      if (!d) return this.reply(tx, m, 481, 'Call/Transaction Does Not Exist');
      return d.onRequest(m, remote, tx);
    }
    switch (method) {
      case 'INVITE':
        return this.onNewInvite(m, remote, tx);
      case 'OPTIONS':
        return this.reply(tx, m, 200, 'OK', { allow: ALLOW, accept: 'application/sdp', 'accept-language': 'en' });
      case 'BYE':
      case 'INFO':
      case 'PRACK':
      case 'UPDATE':
        return this.reply(tx, m, 481, 'Call/Transaction Does Not Exist');
      default:
        return this.reply(tx, m, 405, 'Method Not Allowed', { allow: ALLOW });
    }
  }

  private onNewInvite(m: SipMessage, remote: Remote, tx: ServerTransaction): void {
    const contact = m.headers.contact;
    if (!Array.isArray(contact) || !contact[0] || !sip.parseUri(contact[0].uri)) return this.reply(tx, m, 400, 'Bad Request (Contact)');
    if (!m.headers.from.params.tag) return this.reply(tx, m, 400, 'Bad Request (From tag)');
    const require = String(m.headers.require ?? '').trim();
    if (require) return this.reply(tx, m, 420, 'Bad Extension', { unsupported: require });
    this.reply(tx, m, 100, 'Trying');
    const inv = new InboundInviteImpl(this.ctx, m, remote, tx, this.nonces);
    const key = `${inv.callId};${m.headers.via[0]?.params.branch ?? ''}`;
    this.inviteTx.set(key, inv);
    setTimeout(() => {
      if (this.inviteTx.get(key) === inv) this.inviteTx.delete(key);
    }, 64_000).unref();
    this.dialogs.set(inv.key, inv);
    try {
      this.onInvite(inv);
    } catch (err) {
      this.log.error({ err, sipCallId: inv.callId }, 'sip: onInvite failed');
      inv.reject(500);
    }
  }

  invite(opts: OutboundInviteOptions): OutboundInvite {
    if (this.closed) throw new Error('SIP user agent closed');
    return new OutboundInviteImpl(this.ctx, opts);
  }

  monitor(trunk: TrunkTarget & { register: boolean }, onStatus: (s: TrunkStatus) => void): { stop(): void } {
    const m = new TrunkMonitor(this.ctx, trunk, onStatus, this.timing);
    const handle = {
      stop: () => {
        this.monitors.delete(handle);
        m.stop();
      },
    };
    this.monitors.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of [...this.monitors]) m.stop();
    for (const d of this.dialogs.values()) (d as InboundInviteImpl | OutboundInviteImpl).abort?.();
    for (const d of [...this.dialogs.values()]) if (d.phase === 'confirmed') d.bye();
    // Give unREGISTERs and BYEs a moment to leave (UDP: the first send is immediate).
    await new Promise((r) => setTimeout(r, 50));
    this.dialogs.clear();
    this.inviteTx.clear();
    await this.stack.close();
  }
}
