// Trunk health: REGISTER with digest auth and refresh before expiry (registered / auth_failed / unreachable), or an
// OPTIONS ping (reachable / unreachable). Statuses are reported when they change.
import sip, { type SipMessage } from 'sip';
import type { DigestClientContext } from 'sip/digest.js';
import type { TrunkStatus, TrunkTarget } from './types.js';
import type { UaContext } from './dialog.js';
import { randomToken, type Target } from './stack.js';
import { answerChallenge, resign } from './auth.js';
import { escapeUser, protocolOf, transportParam } from './outbound.js';

export interface MonitorTiming {
  /** OPTIONS ping interval (30 s). */
  optionsIntervalMs: number;
  /** Expires we ask for (300 s). */
  registerExpires: number;
  /** Retry after a failure (30 s). */
  retryMs: number;
  /** Give up on one REGISTER/OPTIONS after this long (the transaction's timer F is 32 s). */
  requestTimeoutMs: number;
}

export class TrunkMonitor {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private status: TrunkStatus = 'unknown';
  private readonly callId: string;
  private readonly tag = randomToken(6);
  private seq = 1;
  private registered = false;
  private auth: DigestClientContext | null = null;
  private readonly target: Target;
  private readonly hostPort: string;

  constructor(
    private readonly ua: UaContext,
    private readonly trunk: TrunkTarget & { register: boolean },
    private readonly onStatus: (s: TrunkStatus) => void,
    private readonly timing: MonitorTiming,
  ) {
    this.callId = `${randomToken(12)}@${ua.stack.announcedIp}`;
    const protocol = protocolOf(trunk.transport);
    this.target = { protocol, host: trunk.host, port: trunk.port || (protocol === 'TLS' ? 5061 : 5060), verifyHost: true };
    const host = trunk.host.includes(':') ? `[${trunk.host}]` : trunk.host;
    this.hostPort = `${host}:${this.target.port}${transportParam(protocol)}`;
    setImmediate(() => this.tick());
  }

  private report(s: TrunkStatus): void {
    if (this.stopped || s === this.status) return;
    this.status = s;
    try {
      this.onStatus(s);
    } catch (err) {
      this.ua.log.error({ err, trunk: this.trunk.id }, 'sip: trunk status handler failed');
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.trunk.register) this.register(this.timing.registerExpires);
    else this.ping();
  }

  private base(method: string): SipMessage {
    const user = escapeUser(this.trunk.username ?? 'astral');
    const host = this.hostPort.split(';')[0]!;
    const aor = `sip:${user}@${host.replace(/:\d+$/, '')}`;
    return {
      method,
      uri: method === 'REGISTER' ? `sip:${this.hostPort}` : `sip:${this.hostPort}`,
      headers: {
        via: [],
        to: { uri: method === 'REGISTER' ? aor : `sip:${this.hostPort.split(';')[0]}`, params: {} },
        from: { uri: aor, params: { tag: this.tag } },
        'call-id': this.callId,
        cseq: { seq: this.seq++, method },
        'max-forwards': 70,
        'user-agent': this.ua.userAgent,
      },
      content: '',
    };
  }

  private ping(): void {
    const rq = this.base('OPTIONS');
    rq.headers.accept = 'application/sdp';
    this.ua.stack.request(
      rq,
      this.target,
      (rs, synthetic) => {
        if ((rs.status ?? 0) < 200) return;
        this.report(synthetic ? 'unreachable' : 'reachable');
        this.schedule(this.timing.optionsIntervalMs);
      },
      { timeoutMs: this.timing.requestTimeoutMs },
    );
  }

  private register(expires: number, onDone?: () => void): void {
    const rq = this.base('REGISTER');
    rq.headers.contact = [{ uri: this.ua.contact(this.target.protocol, escapeUser(this.trunk.username ?? 'astral')), params: {} }];
    rq.headers.expires = String(expires);
    rq.headers.allow = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';
    if (this.auth) {
      try {
        resign(this.auth, rq);
      } catch {
        this.auth = null;
      }
    }
    this.sendRegister(rq, expires, false, onDone);
  }

  private sendRegister(rq: SipMessage, expires: number, challenged: boolean, onDone?: () => void): void {
    this.ua.stack.request(
      rq,
      this.target,
      (rs, synthetic) => {
        const status = rs.status ?? 0;
        if (status < 200) return;
        if (onDone) return this.afterUnregister(rq, rs, challenged, onDone);
        if (synthetic) {
          this.registered = false;
          this.report('unreachable');
          return this.schedule(this.timing.retryMs);
        }
        if (status >= 200 && status < 300) {
          this.registered = true;
          this.report('registered');
          const granted = grantedExpires(rs, expires);
          const refresh = Math.max(1, granted - Math.min(30, granted / 2)) * 1000;
          return this.schedule(refresh);
        }
        if ((status === 401 || status === 407) && !challenged) {
          const again = this.resend(rq, rs);
          if (again) return this.sendRegister(again, expires, true);
        }
        if (status === 423) {
          const min = Number(rs.headers['min-expires']);
          if (Number.isFinite(min) && min > expires && !challenged) return this.register(min);
        }
        this.registered = false;
        this.auth = null;
        this.report(status === 401 || status === 403 || status === 407 ? 'auth_failed' : 'unreachable');
        this.schedule(this.timing.retryMs);
      },
      { timeoutMs: this.timing.requestTimeoutMs },
    );
  }

  private resend(rq: SipMessage, rs: SipMessage): SipMessage | null {
    const again = sip.copyMessage(rq, true);
    again.headers.cseq = { seq: this.seq++, method: 'REGISTER' };
    delete again.headers.authorization;
    delete again.headers['proxy-authorization'];
    const ctx = answerChallenge(again, rs, this.trunk);
    if (!ctx) return null;
    this.auth = ctx;
    return again;
  }

  private afterUnregister(rq: SipMessage, rs: SipMessage, challenged: boolean, onDone: () => void): void {
    if ((rs.status === 401 || rs.status === 407) && !challenged) {
      const again = this.resend(rq, rs);
      if (again) return this.sendRegister(again, 0, true, onDone);
    }
    onDone();
  }

  stop(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.registered) {
      this.registered = false;
      this.register(0, () => undefined);
    }
    this.stopped = true;
  }
}

function grantedExpires(rs: SipMessage, asked: number): number {
  const contacts = Array.isArray(rs.headers.contact) ? rs.headers.contact : [];
  for (const c of contacts) {
    const e = Number(c.params.expires);
    if (Number.isFinite(e) && e > 0) return Math.min(e, asked);
  }
  const e = Number(rs.headers.expires);
  return Number.isFinite(e) && e > 0 ? e : asked;
}
