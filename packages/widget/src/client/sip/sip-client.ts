// SipClient: the sip.js engine's headless softphone — SipClientCore plus hold, DTMF and blind/attended transfer.
import { SessionState, type Invitation, type Inviter, type Referral, type Session, type URI } from 'sip.js';
import { SipClientCore, callIdOf, partyOf } from './sip-client-core.js';
import { SipError } from './sip-account.js';
import { infoDigits, rtpDtmfSender } from './sip-media.js';
import type { SipDtmfOptions } from './sip-types.js';

const DTMF_KEY = /^[0-9A-D*#]+$/i;

/** Who a REFER sends us to; an attended transfer's Refer-To is a device contact (sip.js: *.invalid), so its name wins. */
function referredParty(referral: Referral): ReturnType<typeof partyOf> {
  const { uri, displayName } = referral.referTo;
  const party = partyOf(uri, displayName);
  return uri.host.endsWith('.invalid') && displayName ? { ...party, identity: displayName, extension: displayName } : party;
}

/**
 * Sends an in-dialog request (REFER, re-INVITE) through `send` and resolves on its 2xx; a refusal rejects with a
 * SipError `code` saying `refused` and the status.
 */
function untilAccepted(
  send: (requestDelegate: { onAccept(): void; onReject(res: { message: { statusCode?: number; reasonPhrase?: string } }): void }) => Promise<unknown>,
  code: string,
  refused: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    send({
      onAccept: () => resolve(),
      onReject: (res) => reject(new SipError(code, `${refused}: ${res.message.statusCode} ${res.message.reasonPhrase}`)),
    }).catch(reject);
  });
}

export class SipClient extends SipClientCore {
  /** Which way the last sendDtmf went (tests and diagnostics). */
  lastDtmfVia: 'rfc4733' | 'info' | null = null;

  /** Do-not-disturb: incoming calls still ring, silently. */
  setDoNotDisturb(dnd: boolean): void {
    this.dnd = dnd;
  }

  /** Hold (or resume) by re-INVITE: sendonly/inactive while held, sendrecv again on resume, tracks re-enabled. */
  setHeld(held: boolean): void {
    const call = this._call;
    const session = this.session;
    if (!call || !session || this._state !== 'in-call' || !!call.held === held) return;
    this.setCall({ ...call, held });
    this.reinvite(session, held).then(
      () => this.retrack(),
      (err: unknown) => {
        if (this.session === session && this._call) this.setCall({ ...this._call, held: !held });
        this.retrack();
        this.fail(err);
      },
    );
  }

  /**
   * Sends DTMF: RFC 4733 RTP events through the audio sender (RTCDTMFSender) when telephone-event was negotiated,
   * otherwise SIP INFO `application/dtmf-relay`. `via` forces one.
   */
  sendDtmf(digits: string, options: SipDtmfOptions = {}): void {
    const session = this.audible;
    if (!session || this._state !== 'in-call' || !DTMF_KEY.test(digits)) return;
    const duration = options.duration ?? 100;
    const rtp = options.via === 'info' ? null : rtpDtmfSender(session);
    if (rtp) {
      this.lastDtmfVia = 'rfc4733';
      rtp.insertDTMF(digits, duration, 70);
      return;
    }
    if (options.via === 'rfc4733') return this.fail(new SipError('invalid_state', 'telephone-event was not negotiated'));
    this.lastDtmfVia = 'info';
    void (async () => {
      for (const digit of digits.toUpperCase()) {
        const content = `Signal=${digit}\r\nDuration=${duration}\r\n`;
        await session.info({ requestOptions: { body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content } } }).catch((err: unknown) => this.fail(err));
      }
    })();
  }

  /**
   * Transfers the other party to `destination`. Blind: REFER, then we leave. Attended: the other party waits on
   * hold while we call the target; `completeTransfer()` sends REFER with Replaces, `cancelTransfer()` returns.
   */
  async transfer(destination: string, type: 'blind' | 'attended' = 'blind'): Promise<void> {
    const session = this.session;
    const call = this._call;
    if (!session || !call || this._state !== 'in-call' || session.state !== SessionState.Established) {
      throw new SipError('invalid_state', 'transfer needs an answered call');
    }
    if (type === 'blind') {
      const target = this.newInviter(destination).remoteIdentity.uri;
      return this.refer(session, target, () => {
        this.transferred.add(session);
        session.bye().catch(() => undefined);
      });
    }
    if (this.consult) throw new SipError('invalid_state', 'a transfer is already in progress');
    const consult = this.newInviter(destination);
    const target = partyOf(consult.remoteIdentity.uri);
    this.consult = consult;
    this.setCall({ ...call, held: true, transfer: { state: 'ringing', target } });
    this.emit('transfer', { callId: call.id, state: 'ringing', target });
    // The consultation is dialled at once: a slow (or lost) hold re-INVITE to the transferee must not stall it.
    this.sendInvite(consult, () => undefined);
    await this.reinvite(session, true).catch(() => undefined);
    this.retrack();
  }

  completeTransfer(): Promise<void> {
    const { session, consult, _call: call } = this;
    if (!session || !consult || !call?.transfer) return Promise.reject(new SipError('invalid_state', 'no transfer in progress'));
    if (consult.state !== SessionState.Established) return Promise.reject(new SipError('invalid_state', 'the target has not answered yet'));
    const target = call.transfer.target;
    return this.refer(session, consult, () => {
      // The transferee now INVITEs the target with Replaces; the target ends our consultation leg.
      this.transferred.add(session);
      this.emit('transfer', { callId: call.id, state: 'completed', target });
      session.bye().catch(() => undefined);
      setTimeout(() => consult.state === SessionState.Established && consult.bye().catch(() => undefined), 5000);
    });
  }

  async cancelTransfer(): Promise<void> {
    const consult = this.consult;
    const call = this._call;
    if (!consult || !call?.transfer) throw new SipError('invalid_state', 'no transfer in progress');
    this.endSession(consult);
    this.endConsult(consult, 'cancelled');
  }

  // ---- sip.js hooks ----

  protected override onEstablished(session: Session): void {
    super.onEstablished(session);
    const call = this._call;
    if (session === this.consult && call?.transfer) {
      this.setCall({ ...call, transfer: { state: 'consulting', target: call.transfer.target } });
      this.emit('transfer', { callId: call.id, state: 'consulting', target: call.transfer.target });
    }
  }

  protected override onTerminated(session: Session): void {
    if (session === this.consult) return this.endConsult(session, this.transferred.has(this.session!) ? null : 'failed');
    if (session === this.session && this.consult) {
      // The held party hung up during the consultation: the consultation becomes the call.
      const consult = this.consult;
      const target = this._call?.transfer?.target;
      this.consult = null;
      if (!this.transferred.has(session) && consult.state === SessionState.Established && target && this._call) {
        this.session = consult;
        this.setCall({ ...this._call, id: callIdOf(consult), remote: target, held: false, transfer: null });
        this.play();
        this.retrack();
        return;
      }
      // Transferred: the target ends the consultation when the transferee replaces it (completeTransfer's fallback
      // BYE covers a target that does not).
      if (!this.transferred.has(session)) this.endSession(consult);
    }
    super.onTerminated(session);
  }

  protected override onInfo(session: Session, info: { request: { body?: string; getHeader(name: string): string | undefined }; accept(): Promise<void> }): void {
    info.accept().catch(() => undefined);
    const digit = infoDigits(info.request.getHeader('Content-Type') ?? '', info.request.body ?? '');
    if (digit && this._call) this.emit('dtmf', { callId: session === this.session ? this._call.id : callIdOf(session), digits: digit });
  }

  /** The far side transfers us: accept, call the new target (with Replaces for an attended transfer), leave. */
  protected override onRefer(session: Session, referral: Referral): void {
    if (session !== this.session || !this._call) {
      referral.reject().catch(() => undefined);
      return;
    }
    referral.accept().then(
      () => {
        const inviter: Inviter = referral.makeInviter({ sessionDescriptionHandlerOptions: this.sdhOptions() });
        this.transferred.add(session);
        const old = this._call!;
        this.session = inviter;
        this.watch(inviter);
        this.setCall({ ...old, id: callIdOf(inviter), direction: 'outgoing', remote: referredParty(referral), answeredAt: null, held: false, remoteHeld: false });
        this.setState('dialing');
        if (session.state === SessionState.Established) session.bye().catch(() => undefined);
        this.sendInvite(inviter);
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** An INVITE replacing our consulted/current leg (we are an attended transfer's target): take it over. */
  protected override onReplace(invitation: Invitation, replaced: Session): void {
    if (replaced !== this.session || !this._call) {
      invitation.reject({ statusCode: 481 }).catch(() => undefined);
      return;
    }
    const remote = partyOf(invitation.remoteIdentity.uri, invitation.remoteIdentity.displayName);
    this.session = invitation;
    this.watch(invitation);
    this.setCall({ ...this._call, id: callIdOf(invitation), remote, remoteHeld: false });
    invitation.accept({ sessionDescriptionHandlerOptions: this.sdhOptions() }).catch((err: unknown) => this.fail(err));
  }

  /** Back after a reconnect mid-call: a re-INVITE (same media, no ICE restart) gives the dialog our new route. */
  protected override refreshCall(): void {
    const session = this.session;
    if (!session || session.state !== SessionState.Established) return super.refreshCall();
    this.reinvite(session, !!this._call?.held).then(
      () => {
        if (this.session === session) this.setState('in-call');
        this.retrack();
      },
      (err: SipError) => {
        if (this.session !== session) return;
        if (/\b481\b/.test(err.message)) {
          this.endSession(session); // the far side no longer knows the call
          this.finish(session, null);
        } else this.setState('in-call'); // media is peer to peer and still flows; the far side's refresh may reach us
        this.retrack();
      },
    );
  }

  private endConsult(consult: Session, outcome: 'failed' | 'cancelled' | null): void {
    if (this.consult !== consult) return;
    this.consult = null;
    const call = this._call;
    if (!call || !outcome || !call.transfer || !this.session) return;
    const target = call.transfer.target;
    this.setCall({ ...call, transfer: null, held: false });
    this.emit('transfer', { callId: call.id, state: outcome, target });
    this.play();
    const session = this.session;
    this.reinvite(session, false).then(
      () => this.retrack(),
      (err: unknown) => this.fail(err),
    );
  }

  /** REFERs the call's other party to `target` (a URI, or a session to replace); `accepted` runs on 2xx, a refusal is reported and thrown. */
  private refer(session: Session, target: URI | Session, accepted: () => void): Promise<void> {
    return untilAccepted((requestDelegate) => session.refer(target, { requestDelegate }), 'transfer_failed', 'the transfer was refused').then(accepted, (err: unknown) => this.failAndThrow(err));
  }

  /** A re-INVITE with the given hold state; resolves on 2xx, rejects otherwise. */
  private reinvite(session: Session, hold: boolean): Promise<void> {
    const options = this.sdhOptions(hold);
    session.sessionDescriptionHandlerOptionsReInvite = options;
    return untilAccepted((requestDelegate) => session.invite({ sessionDescriptionHandlerOptions: options, requestDelegate }), 'hold_failed', 're-INVITE refused');
  }
}
