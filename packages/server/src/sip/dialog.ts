// A SIP dialog (RFC 3261 §12): route set, targets, CSeq, tags; in-dialog requests (BYE, re-INVITE, ACK) and the
// far end's BYE / re-INVITE / INFO / OPTIONS. Shared by inbound and outbound calls.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import sip, { type ServerTransaction, type SipAor, type SipMessage } from 'sip';
import type { SipDialog } from './types.js';
import type { Protocol, Remote } from './transport.js';
import { randomToken, targetOfUri, type SipStack, type Target } from './stack.js';
import { answerChallenge, type Credentials } from './auth.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

export interface UaContext {
  stack: SipStack;
  log: FastifyBaseLogger;
  userAgent: string;
  ackTimeoutMs: number;
  contact(protocol: Protocol, user?: string): string;
  addDialog(d: DialogBase): void;
  removeDialog(d: DialogBase): void;
}

export const aorCopy = (a: SipAor, tag?: string | null): SipAor => {
  const params = { ...a.params };
  if (tag) params.tag = tag;
  return { name: a.name, uri: typeof a.uri === 'string' ? a.uri : sip.stringifyUri(a.uri), params };
};

/** Re-sends a 2xx until its ACK (UDP: T1 doubling to T2), gives up after timer H. */
export class Reliable2xx {
  private retx: NodeJS.Timeout | null = null;
  private h: NodeJS.Timeout | null = null;
  constructor(
    readonly cseq: number,
    send: () => void,
    unreliable: boolean,
    timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {
    send();
    if (unreliable) {
      const again = (t: number) => {
        this.retx = setTimeout(() => {
          send();
          again(Math.min(t * 2, 4000));
        }, t);
      };
      again(500);
    }
    this.h = setTimeout(() => {
      this.stop();
      this.onTimeout();
    }, timeoutMs);
  }
  stop(): void {
    if (this.retx) clearTimeout(this.retx);
    if (this.h) clearTimeout(this.h);
    this.retx = this.h = null;
  }
}

export abstract class DialogBase extends EventEmitter implements SipDialog {
  abstract readonly callId: string;
  localTag = randomToken(6);
  remoteTag: string | null = null;
  /** Our side as it appears in requests we send (From) and the far side (To). */
  localAor!: SipAor;
  remoteAor!: SipAor;
  remoteTarget: string | null = null;
  routeSet: SipAor[] = [];
  localSeq = 1 + Math.floor(Math.random() * 10_000);
  remoteSeq: number | null = null;
  protocol: Protocol = 'UDP';
  /** The TCP/TLS connection the far side used, reused for our in-dialog requests while open. */
  flow: Remote | null = null;
  /** 'confirmed' once answered (2xx sent or received); 'ended' after BYE, failure or cancel. */
  phase: 'early' | 'confirmed' | 'ended' = 'early';
  localSdp: string | null = null;
  private outgoingReinvite = false;
  private incomingReinvite = false;
  protected awaitingAck: Reliable2xx | null = null;

  constructor(protected readonly ua: UaContext) {
    super();
    // An 'error' without listeners must never crash the process.
    this.on('error', () => undefined);
  }

  protected credentials(): Credentials | null {
    return null;
  }

  get key(): string {
    return `${this.callId};${this.localTag}`;
  }

  protected nextHop(): Target | null {
    const first = this.routeSet[0];
    return targetOfUri(first ? first.uri : (this.remoteTarget ?? undefined), this.protocol);
  }

  /** A request inside the dialog (§12.2.1.1), loose or strict routing. */
  protected buildRequest(method: string, content?: string, contentType?: string, seq?: number): SipMessage {
    const routes = this.routeSet.map((r) => aorCopy(r));
    let uri = this.remoteTarget ?? '';
    const first = routes[0];
    if (first) {
      const u = sip.parseUri(first.uri);
      if (u && !('lr' in u.params)) {
        routes.shift();
        routes.push({ uri, params: {} });
        uri = typeof first.uri === 'string' ? first.uri : sip.stringifyUri(first.uri);
      }
    }
    const headers: SipMessage['headers'] = {
      via: [],
      to: aorCopy(this.remoteAor, this.remoteTag),
      from: aorCopy(this.localAor, this.localTag),
      'call-id': this.callId,
      cseq: { seq: seq ?? ++this.localSeq, method },
      'max-forwards': 70,
      'user-agent': this.ua.userAgent,
    };
    if (routes.length) headers.route = routes;
    if (method === 'INVITE') {
      headers.contact = [{ uri: this.ua.contact(this.protocol), params: {} }];
      headers.allow = ALLOW;
    }
    if (content) {
      headers['content-type'] = contentType ?? 'application/sdp';
    }
    return { method, uri, headers, content: content ?? '' };
  }

  /** Sends an in-dialog request; answers one digest challenge when we have credentials. */
  protected sendRequest(rq: SipMessage, cb: (rs: SipMessage) => void): void {
    const target = this.nextHop();
    if (!target) {
      cb(sip.makeResponse(rq, 408, 'No Route'));
      return;
    }
    let retried = false;
    const onResponse = (rs: SipMessage) => {
      if ((rs.status === 401 || rs.status === 407) && !retried) {
        const creds = this.credentials();
        const again = sip.copyMessage(rq, true);
        again.headers.cseq = { seq: ++this.localSeq, method: rq.method ?? '' };
        if (creds && answerChallenge(again, rs, creds)) {
          retried = true;
          rq = again;
          this.ua.stack.request(again, target, onResponse, { flow: this.flow });
          return;
        }
      }
      cb(rs);
    };
    this.ua.stack.request(rq, target, onResponse, { flow: this.flow });
  }

  /** ACK for a 2xx to `seq` (ours to send: a new transaction, sent statelessly). */
  protected sendAck(seq: number, content?: string): void {
    const ack = this.buildRequest('ACK', content, undefined, seq);
    delete ack.headers.contact;
    const target = this.nextHop();
    if (target) this.ua.stack.sendStateless(ack, target, this.flow);
  }

  bye(): void {
    if (this.phase !== 'confirmed') return;
    this.phase = 'ended';
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      this.ua.removeDialog(this);
      this.sendRequest(this.buildRequest('BYE'), (rs) => {
        if ((rs.status ?? 0) >= 300) this.ua.log.info({ sipCallId: this.callId, status: rs.status }, 'sip: BYE answered with an error');
      });
    };
    if (this.awaitingAck) {
      // §15: wait for the ACK of our 2xx (or its timeout) before BYE; the dialog stays findable for that ACK.
      this.once('acked', send);
      this.once('ack-timeout', send);
      return;
    }
    send();
  }

  reinvite(sdp: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.phase !== 'confirmed') return reject(new Error('dialog not established'));
      if (this.outgoingReinvite || this.incomingReinvite) return reject(new Error('re-INVITE in progress (491)'));
      this.outgoingReinvite = true;
      const rq = this.buildRequest('INVITE', sdp);
      this.sendRequest(rq, (rs) => {
        const status = rs.status ?? 0;
        if (status < 200) return;
        this.outgoingReinvite = false;
        if (status < 300) {
          this.sendAck(rs.headers.cseq.seq);
          this.updateTarget(rs);
          this.localSdp = sdp;
          resolve(rs.content ?? '');
        } else {
          if (status === 481 || status === 408) this.remoteGone();
          reject(Object.assign(new Error(`re-INVITE failed: ${status} ${rs.reason ?? ''}`), { status }));
        }
      });
    });
  }

  protected updateTarget(m: SipMessage): void {
    const c = m.headers.contact;
    if (Array.isArray(c) && c[0]) this.remoteTarget = typeof c[0].uri === 'string' ? c[0].uri : sip.stringifyUri(c[0].uri);
  }

  /** The far end is gone (481/408 on an in-dialog request): end as if it hung up. */
  protected remoteGone(): void {
    if (this.phase !== 'confirmed') return;
    this.phase = 'ended';
    this.ua.removeDialog(this);
    this.emit('bye');
  }

  protected reply(tx: ServerTransaction, rq: SipMessage, status: number, reason: string, extra: Record<string, unknown> = {}, content?: string): SipMessage {
    const headers: Record<string, unknown> = { 'user-agent': this.ua.userAgent, ...extra };
    if (content) headers['content-type'] = 'application/sdp';
    const rs = sip.makeResponse(rq, status, reason, { headers, content });
    if (status > 100) rs.headers.to = aorCopy(rq.headers.to, rq.headers.to.params.tag ? undefined : this.localTag);
    tx.send(rs);
    return rs;
  }

  /** ACK for one of our 2xx responses (the 200 to the INVITE or to a re-INVITE). */
  onAck(m: SipMessage): void {
    if (this.awaitingAck && m.headers.cseq.seq === this.awaitingAck.cseq) {
      this.awaitingAck.stop();
      this.awaitingAck = null;
      this.acked(m);
      this.emit('acked');
    }
  }

  protected acked(_m: SipMessage): void {}

  /** The far end hung up while we still waited for the ACK of our 2xx. */
  protected ackAbandoned(): void {}

  /** A request inside this dialog from the far end. */
  onRequest(m: SipMessage, remote: Remote, tx: ServerTransaction): void {
    const method = m.method ?? '';
    const seq = m.headers.cseq.seq;
    if (this.remoteSeq !== null && seq <= this.remoteSeq) {
      this.reply(tx, m, 500, 'CSeq Out of Order');
      return;
    }
    this.remoteSeq = seq;
    if (remote.protocol !== 'UDP') this.flow = remote;
    switch (method) {
      case 'BYE':
        this.reply(tx, m, 200, 'OK');
        if (this.phase !== 'ended') {
          const wasConfirmed = this.phase === 'confirmed';
          this.phase = 'ended';
          if (this.awaitingAck) {
            this.awaitingAck.stop();
            this.awaitingAck = null;
            this.ackAbandoned();
          }
          this.ua.removeDialog(this);
          if (wasConfirmed) this.emit('bye');
          else this.farEndedEarly();
        }
        return;
      case 'INVITE':
        return this.onReinvite(m, tx);
      case 'INFO':
        this.reply(tx, m, 200, 'OK');
        this.emit('info', m.content ?? '', String(m.headers['content-type'] ?? ''));
        return;
      case 'OPTIONS':
        this.reply(tx, m, 200, 'OK', { allow: ALLOW, accept: 'application/sdp' });
        return;
      default:
        this.reply(tx, m, 501, 'Not Implemented', { allow: ALLOW });
    }
  }

  /** A BYE before the dialog was confirmed (only legal for an outbound early dialog): subclasses decide. */
  protected farEndedEarly(): void {}

  private onReinvite(m: SipMessage, tx: ServerTransaction): void {
    if (this.phase !== 'confirmed') {
      this.reply(tx, m, this.phase === 'ended' ? 481 : 491, this.phase === 'ended' ? 'Call/Transaction Does Not Exist' : 'Request Pending');
      return;
    }
    if (this.outgoingReinvite) {
      this.reply(tx, m, 491, 'Request Pending');
      return;
    }
    if (this.incomingReinvite || this.awaitingAck) {
      this.reply(tx, m, 500, 'Server Internal Error', { 'retry-after': String(1 + Math.floor(Math.random() * 9)) });
      return;
    }
    this.incomingReinvite = true;
    this.reply(tx, m, 100, 'Trying');
    this.updateTarget(m);
    let replied = false;
    const answer = (sdp: string) => {
      if (replied) return;
      replied = true;
      this.incomingReinvite = false;
      if (this.phase !== 'confirmed') return;
      this.localSdp = sdp;
      const rs = this.okResponse(m, sdp);
      this.awaitingAck = new Reliable2xx(m.headers.cseq.seq, () => tx.send(rs), this.protocol === 'UDP', this.ua.ackTimeoutMs, () => {
        this.awaitingAck = null;
        this.emit('ack-timeout');
      });
    };
    if (this.listenerCount('reinvite') > 0) {
      this.emit('reinvite', m.content ?? '', answer);
    } else if (this.localSdp) {
      answer(this.localSdp);
    } else {
      replied = true;
      this.incomingReinvite = false;
      this.reply(tx, m, 488, 'Not Acceptable Here');
    }
  }

  /** A 200 to `rq` from this dialog's side (To tag, Contact, Allow, SDP). */
  protected okResponse(rq: SipMessage, sdp: string, status = 200, reason = 'OK'): SipMessage {
    const rs = sip.makeResponse(rq, status, reason, {
      headers: {
        contact: [{ uri: this.ua.contact(this.protocol), params: {} }],
        allow: ALLOW,
        supported: '',
        'user-agent': this.ua.userAgent,
        'content-type': 'application/sdp',
      },
      content: sdp,
    });
    delete rs.headers.supported;
    rs.headers.to = aorCopy(rq.headers.to, rq.headers.to.params.tag ? undefined : this.localTag);
    if (rq.headers['record-route']) rs.headers['record-route'] = rq.headers['record-route'];
    return rs;
  }
}
