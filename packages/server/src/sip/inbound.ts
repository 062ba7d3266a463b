// An INVITE received from the network (InboundInvite): provisional/final answers, digest challenge and check,
// CANCEL, the ACK of our 200 (with its retransmission until then), then the dialog.
import sip, { type ServerTransaction, type SipAor, type SipMessage } from 'sip';
import type { InboundInvite, SipSource } from './types.js';
import type { Remote } from './transport.js';
import { DialogBase, Reliable2xx, aorCopy, type UaContext } from './dialog.js';
import { challengeHeader, findAuthorization, unq, verifyDigest, type NonceIssuer } from './auth.js';

/** User part of a sip/sips/tel URI (percent-decoded), null otherwise. */
export function uriUser(uri: unknown): string | null {
  if (typeof uri !== 'string') return null;
  const tel = /^tel:([^;?]+)/i.exec(uri);
  if (tel) return decodeSafe(tel[1]!);
  const u = sip.parseUri(uri);
  if (!u || !/^sips?$/i.test(u.schema ?? '')) return null;
  return u.user ? decodeSafe(u.user) : null;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Header text arrives as latin1 (bytes); display names are UTF-8 on the wire. */
export function displayName(aor: SipAor): string | null {
  const n = unq(aor.name?.trim());
  if (!n) return null;
  return Buffer.from(n, 'latin1').toString('utf8');
}

export class InboundInviteImpl extends DialogBase implements InboundInvite {
  readonly callId: string;
  readonly requestUser: string | null;
  readonly toUser: string | null;
  readonly fromUser: string | null;
  readonly fromDisplayName: string | null;
  readonly source: SipSource;
  readonly sdp: string | null;
  readonly authorization: { username: string; realm: string } | null;
  /** A final response was sent (or the INVITE was cancelled). */
  finalSent = false;
  private acceptPromise: { resolve: (v: { ackSdp: string | null }) => void; reject: (e: Error) => void } | null = null;

  constructor(
    ua: UaContext,
    readonly invite: SipMessage,
    remote: Remote,
    private readonly tx: ServerTransaction,
    private readonly nonces: NonceIssuer,
  ) {
    super(ua);
    const h = invite.headers;
    this.callId = h['call-id'];
    this.remoteAor = aorCopy(h.from);
    this.remoteTag = (h.from.params.tag as string | undefined) ?? null;
    this.localAor = aorCopy(h.to);
    delete this.localAor.params.tag;
    this.remoteSeq = h.cseq.seq;
    this.protocol = remote.protocol;
    this.flow = remote.protocol !== 'UDP' ? remote : null;
    this.updateTarget(invite);
    this.routeSet = (h['record-route'] ?? []).map((r) => aorCopy(r));
    this.requestUser = uriUser(invite.uri);
    this.toUser = uriUser(h.to.uri);
    this.fromUser = uriUser(h.from.uri);
    this.fromDisplayName = displayName(h.from);
    this.source = { address: remote.address, port: remote.port, transport: remote.protocol === 'TLS' ? 'tls' : remote.protocol === 'TCP' ? 'tcp' : 'udp' };
    const ct = String(h['content-type'] ?? 'application/sdp').toLowerCase();
    this.sdp = invite.content && invite.content.trim() && ct.startsWith('application/sdp') ? invite.content : null;
    const auth = findAuthorization(invite);
    this.authorization = auth ? { username: unq(auth.username) ?? '', realm: unq(auth.realm) ?? '' } : null;
  }

  verifyDigest(password: string): boolean {
    const auth = findAuthorization(this.invite);
    return !!auth && verifyDigest(this.invite, auth, password, this.nonces);
  }

  challenge(realm: string): void {
    if (this.finalSent) return;
    this.finish();
    this.reply(this.tx, this.invite, 401, 'Unauthorized', { 'www-authenticate': [challengeHeader(realm, this.nonces.issue())] });
  }

  progress(status: 180 | 183, sdp?: string): void {
    if (this.finalSent) return;
    const headers: Record<string, unknown> = { contact: [{ uri: this.ua.contact(this.protocol), params: {} }] };
    if (this.invite.headers['record-route']) headers['record-route'] = this.invite.headers['record-route'];
    if (sdp) this.localSdp = sdp;
    this.reply(this.tx, this.invite, status, status === 180 ? 'Ringing' : 'Session Progress', headers, sdp);
  }

  accept(sdp: string): Promise<{ ackSdp: string | null }> {
    if (this.finalSent) return Promise.reject(new Error(this.phase === 'ended' ? 'the call was cancelled' : 'already answered'));
    this.finalSent = true;
    this.phase = 'confirmed';
    this.localSdp = sdp;
    const rs = this.okResponse(this.invite, sdp);
    return new Promise((resolve, reject) => {
      this.acceptPromise = { resolve, reject };
      this.awaitingAck = new Reliable2xx(this.invite.headers.cseq.seq, () => this.tx.send(rs), this.protocol === 'UDP', this.ua.ackTimeoutMs, () => {
        this.awaitingAck = null;
        this.acceptPromise = null;
        this.emit('ack-timeout');
        // §13.3.1.4: no ACK — the dialog ends with a BYE.
        if (this.phase === 'confirmed') this.bye();
        reject(new Error('no ACK for our 200 OK (timer H)'));
      });
    });
  }

  protected override acked(m: SipMessage): void {
    const p = this.acceptPromise;
    this.acceptPromise = null;
    const body = m.content && m.content.trim() ? m.content : null;
    p?.resolve({ ackSdp: body });
  }

  protected override ackAbandoned(): void {
    const p = this.acceptPromise;
    this.acceptPromise = null;
    p?.reject(new Error('the caller hung up before ACKing our 200 OK'));
  }

  reject(status: number, reason?: string): void {
    if (this.finalSent) return;
    this.finish();
    this.reply(this.tx, this.invite, status, reason ?? defaultReason(status));
  }

  /** The far end's CANCEL: true when it cancelled the INVITE (we then answered 487). */
  onCancel(): boolean {
    if (this.finalSent) return false;
    this.finish();
    this.reply(this.tx, this.invite, 487, 'Request Terminated');
    this.emit('cancel');
    return true;
  }

  override bye(): void {
    if (!this.finalSent) this.reject(487, 'Request Terminated');
    else super.bye();
  }

  private finish(): void {
    this.finalSent = true;
    this.phase = 'ended';
    this.ua.removeDialog(this);
  }

  /** Called when the UA shuts down. */
  abort(): void {
    this.awaitingAck?.stop();
    this.awaitingAck = null;
    this.acceptPromise?.reject(new Error('SIP user agent closed'));
    this.acceptPromise = null;
  }
}

export function defaultReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
    407: 'Proxy Authentication Required', 408: 'Request Timeout', 410: 'Gone', 415: 'Unsupported Media Type',
    420: 'Bad Extension', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 484: 'Address Incomplete',
    486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here', 491: 'Request Pending',
    500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Server Time-out', 600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
  };
  return reasons[status] ?? (status < 300 ? 'OK' : 'Error');
}
