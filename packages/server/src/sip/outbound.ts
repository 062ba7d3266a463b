// An INVITE we send to a trunk (OutboundInvite): digest retry, provisional/answer/failure events, ACK, CANCEL.
import sip, { type SipMessage } from 'sip';
import type { OutboundInvite, OutboundInviteOptions, SipTransport, TrunkTarget } from './types.js';
import type { Protocol } from './transport.js';
import { DialogBase, ALLOW, aorCopy, type UaContext } from './dialog.js';
import { randomToken, type RequestHandle, type Synthetic, type Target } from './stack.js';
import { answerChallenge, type Credentials } from './auth.js';

/** Escapes a user part (RFC 3261 `user` characters stay as they are). */
export const escapeUser = (u: string): string =>
  Array.from(Buffer.from(u, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');

export const protocolOf = (t: SipTransport): Protocol => (t === 'tls' ? 'TLS' : t === 'tcp' ? 'TCP' : 'UDP');
export const transportParam = (p: Protocol): string => (p === 'TLS' ? ';transport=tls' : p === 'TCP' ? ';transport=tcp' : '');

/** A quoted display name, as latin1 bytes of its UTF-8 (the library writes header text byte for byte). */
export const quoteName = (n: string): string => `"${Buffer.from(n.replace(/["\\\r\n]/g, ''), 'utf8').toString('latin1')}"`;

export class OutboundInviteImpl extends DialogBase implements OutboundInvite {
  readonly callId: string;
  private readonly trunk: TrunkTarget;
  private readonly target: Target;
  private handle: RequestHandle | null = null;
  private provisional = false;
  private cancelRequested = false;
  private cancelSent = false;
  private settled = false;
  private authTried = false;
  private answeredTag: string | null = null;

  constructor(ua: UaContext, opts: OutboundInviteOptions) {
    super(ua);
    this.trunk = opts.trunk;
    this.callId = `${randomToken(12)}@${ua.stack.announcedIp}`;
    this.protocol = protocolOf(opts.trunk.transport);
    const host = opts.trunk.host.includes(':') ? `[${opts.trunk.host}]` : opts.trunk.host;
    this.target = { protocol: this.protocol, host: opts.trunk.host, port: opts.trunk.port || (this.protocol === 'TLS' ? 5061 : 5060), verifyHost: true };
    const user = escapeUser(opts.toUser);
    this.localAor = { name: opts.fromDisplayName ? quoteName(opts.fromDisplayName) : undefined, uri: `sip:${escapeUser(opts.fromUser)}@${host}`, params: {} };
    this.remoteAor = { uri: `sip:${user}@${host}`, params: {} };
    this.remoteTarget = `sip:${user}@${host}:${this.target.port}${transportParam(this.protocol)}`;
    this.localSdp = opts.sdp;
    this.ua.addDialog(this);
    const rq = this.buildRequest('INVITE', opts.sdp);
    rq.headers.to = aorCopy(this.remoteAor);
    this.send(rq);
  }

  protected override credentials(): Credentials {
    return this.trunk;
  }

  private send(rq: SipMessage): void {
    this.handle = this.ua.stack.request(rq, this.target, (rs, synthetic) => this.onResponse(rq, rs, synthetic));
  }

  private onResponse(rq: SipMessage, rs: SipMessage, synthetic: Synthetic): void {
    const status = rs.status ?? 0;
    if (synthetic) {
      this.fail(408, synthetic === 'timeout' ? 'no answer (timer B)' : rs.reason || 'transport error', true);
      return;
    }
    if (status === 100) return;
    const tag = (rs.headers.to.params.tag as string | undefined) ?? null;
    if (status < 200) {
      this.provisional = true;
      if (this.cancelRequested) return this.sendCancel();
      if (this.settled) return;
      if (tag && this.phase === 'early') {
        this.remoteTag = tag;
        this.routeSet = [...(rs.headers['record-route'] ?? [])].reverse().map((r) => aorCopy(r));
        this.updateTarget(rs);
      }
      const body = rs.content && rs.content.trim() ? rs.content : null;
      this.emit('progress', status, body);
      return;
    }
    if (status < 300) return this.onAnswer(rs, tag);
    if ((status === 401 || status === 407) && !this.authTried && !this.settled) {
      const again = sip.copyMessage(rq, true);
      again.headers.cseq = { seq: ++this.localSeq, method: 'INVITE' };
      again.headers.via = [];
      if (answerChallenge(again, rs, this.trunk)) {
        this.authTried = true;
        this.provisional = false;
        this.send(again);
        return;
      }
    }
    this.fail(status, rs.reason || 'failed');
  }

  private onAnswer(rs: SipMessage, tag: string | null): void {
    const seq = rs.headers.cseq.seq;
    if (this.answeredTag !== null) {
      if (tag === this.answeredTag) this.sendAck(seq); // a retransmitted 200: ACK again
      else this.hangUpFork(rs, tag);
      return;
    }
    this.answeredTag = tag ?? '';
    this.remoteTag = tag;
    this.routeSet = [...(rs.headers['record-route'] ?? [])].reverse().map((r) => aorCopy(r));
    this.updateTarget(rs);
    this.phase = 'confirmed';
    this.sendAck(seq);
    if (this.settled) {
      // Answered after we gave up (CANCEL crossed the 200): hang up at once.
      this.bye();
      return;
    }
    this.settled = true;
    this.emit('answered', rs.content ?? '');
  }

  /** A 2xx from another fork (a different To tag): ACK it and BYE it at once, keeping our dialog as it is. */
  private hangUpFork(rs: SipMessage, tag: string | null): void {
    this.ua.log.info({ sipCallId: this.callId }, 'sip: a second fork answered; hanging it up');
    const saved = { remoteTag: this.remoteTag, routeSet: this.routeSet, remoteTarget: this.remoteTarget };
    this.remoteTag = tag;
    this.routeSet = [...(rs.headers['record-route'] ?? [])].reverse().map((r) => aorCopy(r));
    this.updateTarget(rs);
    try {
      this.sendAck(rs.headers.cseq.seq);
      this.sendRequest(this.buildRequest('BYE'), () => undefined);
    } finally {
      Object.assign(this, saved);
    }
  }

  /** `local`: nobody answered at all (timer B, a transport or TLS error), as opposed to the trunk's own final response. */
  private fail(status: number, reason: string, local = false): void {
    if (this.phase !== 'confirmed') {
      this.phase = 'ended';
      this.ua.removeDialog(this);
    }
    if (this.settled) return;
    this.settled = true;
    this.emit('failed', status, reason, local);
  }

  cancel(): void {
    if (this.answeredTag !== null || this.cancelRequested) return;
    this.cancelRequested = true;
    if (this.provisional) this.sendCancel();
    else this.fail(487, 'Request Terminated (cancelled before any response)');
  }

  private sendCancel(): void {
    const inv = this.handle?.sent();
    if (this.cancelSent || !inv || this.answeredTag !== null) return;
    this.cancelSent = true;
    const via = inv.headers.via[0];
    const cancel: SipMessage = {
      method: 'CANCEL',
      uri: inv.uri,
      headers: {
        via: via ? [{ ...via, params: { ...via.params } }] : [],
        to: inv.headers.to,
        from: inv.headers.from,
        'call-id': inv.headers['call-id'],
        cseq: { seq: inv.headers.cseq.seq, method: 'CANCEL' },
        'max-forwards': 70,
        'user-agent': this.ua.userAgent,
      },
      content: '',
    };
    if (inv.headers.route) cancel.headers.route = inv.headers.route;
    this.ua.stack.request(cancel, this.target, () => undefined, { keepVia: true });
  }

  override bye(): void {
    if (this.answeredTag === null) this.cancel();
    else super.bye();
  }

  /** Called when the UA shuts down. */
  abort(): void {
    this.handle?.stop();
  }
}

export { ALLOW };
