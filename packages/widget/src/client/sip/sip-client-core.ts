// SipClientCore: the sip engine's connection, call state machine and media, with AstralClientCore's public surface.
import { Invitation, Inviter, SessionState, UserAgent, type Session } from 'sip.js';
import type { Disposition, EndReason, PartyInfo } from '@astral/protocol';
import { ClientCoreBase, type CallEnd } from '../client-core-base.js';
import { DeviceManager, type MicLine } from '../devices.js';
import type { AstralClientEvents, CallInfo, CallStats } from '../types.js';
import { SipError, resolveAccount, targetUri, toSipError } from './sip-account.js';
import { SipConnection } from './sip-connection.js';
import { applyTracks, localStreamOf, remoteStreamOf, replaceMicTrack, sdpHolds, sessionStats, watchIcePath } from './sip-media.js';
import type { SipClientOptions } from './sip-types.js';

/** The SIP party a session talks to, in the PartyInfo shape the UI renders. */
export function partyOf(uri: { user?: string; toString(): string } | undefined, displayName?: string): PartyInfo {
  const user = uri?.user ?? 'unknown';
  return { userId: uri ? String(uri) : user, identity: user, displayName: displayName || user, extension: user };
}

export function callIdOf(session: Session): string {
  return (session as Inviter | Invitation).request?.callId ?? session.id;
}

/** Final response status of a call that never connected → its PBX disposition. */
function unanswered(status: number, cancelled: boolean): { disposition: Disposition; reason: EndReason } {
  if (cancelled || status === 487) return { disposition: 'NO ANSWER', reason: 'cancelled' };
  if (status === 486 || status === 600) return { disposition: 'BUSY', reason: 'busy' };
  if (status === 603) return { disposition: 'BUSY', reason: 'declined' };
  if (status === 408 || status === 480) return { disposition: 'NO ANSWER', reason: 'timeout' };
  return { disposition: 'FAILED', reason: 'unavailable' };
}

/** What connect() rejects with when the phone disconnects first. */
const CLOSED_BEFORE_READY = 'disconnected before the phone was ready';

export class SipClientCore extends ClientCoreBase {
  protected readonly errorType = SipError;
  /** The current call's session. */
  protected session: Session | null = null;
  /** An attended transfer's consultation with the target (the current call waits on hold). */
  protected consult: Session | null = null;
  protected conn: SipConnection | null = null;
  private registered = false;
  /** Final status per outgoing session, and sessions we ended ourselves before an answer. */
  private readonly finals = new WeakMap<Session, number>();
  private readonly cancelled = new WeakSet<Session>();
  /** Sessions ended by a transfer: their end says `transferred`. */
  protected readonly transferred = new WeakSet<Session>();
  private readonly audio: HTMLAudioElement = new Audio();
  /** Do-not-disturb: calls still ring, marked silent (as with the native engine). */
  protected dnd = false;
  /** Microphone and speaker choice, mid-call switching, audio processing switches. */
  readonly devices: DeviceManager;
  /** The call's microphone, as the device manager switches it (a consultation gets its own copy of the track). */
  private readonly micLine: MicLine = {
    micTrack: () => localStreamOf(this.session)?.getAudioTracks()[0] ?? null,
    replaceMic: async (track) => {
      if (this.consult) await replaceMicTrack(this.consult, track.clone());
      await replaceMicTrack(this.session, track);
    },
  };

  constructor(protected readonly options: SipClientOptions) {
    super();
    this.audio.autoplay = true;
    this.devices = new DeviceManager({
      storageKey: `sip:${options.account?.server ?? options.tokenUrl ?? ''}`,
      constraints: options.audioConstraints,
      processing: options.audioProcessing,
      errorType: SipError,
      emit: (name, detail) => this.emit(name, detail as AstralClientEvents[typeof name]),
    });
    this.devices.setCallOutput(this.audio);
  }

  /** The session whose audio plays: the consultation during an attended transfer, else the call. */
  protected get audible(): Session | null {
    return this.consult ?? this.session;
  }
  get remoteStream(): MediaStream | null {
    return remoteStreamOf(this.audible);
  }
  get localStream(): MediaStream | null {
    return localStreamOf(this.audible);
  }
  /** The sip.js UserAgent (for advanced use), once connecting. */
  get userAgent(): UserAgent | null {
    return this.conn?.ua ?? null;
  }

  /** Connects to the PBX and registers; resolves once the phone is ready. */
  async connect(): Promise<void> {
    if (this.conn) return this._state === 'ready' ? undefined : this.waitReady(CLOSED_BEFORE_READY);
    this.setState('connecting');
    this.devices.listen(true);
    const ready = this.waitReady(CLOSED_BEFORE_READY);
    try {
      const account = await resolveAccount(this.options);
      if (this._state !== 'connecting') throw new SipError('unavailable', 'disconnected while connecting');
      this.conn = new SipConnection(account, this.options, {
        registered: (again) => this.onRegistered(again),
        lost: () => this.onLost(),
        invite: (invitation) => this.onInvite(invitation),
        fatal: (err) => {
          this.fail(err);
          this.disconnect();
        },
      });
      this.conn.start();
    } catch (err) {
      this.fail(err);
      this.setState('disconnected');
    }
    return ready;
  }

  disconnect(): void {
    const conn = this.conn;
    this.conn = null;
    this.registered = false;
    if (this.consult) this.endSession(this.consult);
    if (this.session) this.endSession(this.session);
    this.finish(this.session, null);
    this.consult = null;
    this.audio.srcObject = null;
    this.devices.listen(false);
    this.setState('disconnected');
    conn?.stop();
  }

  async call(destination: string): Promise<string> {
    this.requireState('ready', this.conn);
    const inviter = this.newInviter(destination);
    const id = callIdOf(inviter);
    this.adopt(inviter, { id, direction: 'outgoing', remote: partyOf(inviter.remoteIdentity.uri), answeredAt: null, muted: false, remoteMuted: false });
    this.setState('dialing');
    this.sendInvite(inviter);
    return id;
  }

  async answer(): Promise<void> {
    this.requireState('incoming', this.conn);
    const invitation = this.session as Invitation;
    this.setCall({ ...this._call!, answeredAt: Date.now() });
    this.setState('in-call');
    await invitation.accept({ sessionDescriptionHandlerOptions: this.sdhOptions() }).catch((err: unknown) => {
      this.fail(new SipError('media_error', `could not answer: ${String((err as Error).message ?? err)}`));
      this.endSession(invitation);
    });
  }

  async decline(): Promise<void> {
    this.requireState('incoming', this.conn);
    const invitation = this.session as Invitation;
    this.finals.set(invitation, 603);
    await invitation.reject({ statusCode: 603 }).catch((err: unknown) => this.fail(err));
  }

  async hangup(): Promise<void> {
    if (this.consult) this.endSession(this.consult);
    if (this.session) this.endSession(this.session);
  }

  setMuted(muted: boolean): void {
    if (!this._call) return;
    this.setCall({ ...this._call, muted });
    this.retrack();
  }

  getStats(): Promise<CallStats> {
    if (!this.conn) return Promise.reject(new SipError('invalid_state', 'not connected'));
    return sessionStats(this.audible);
  }

  // ---- for SipClient and internals ----

  protected sdhOptions(hold = false) {
    return { constraints: { audio: this.devices.audioConstraints(), video: false }, hold };
  }

  protected newInviter(destination: string, extra: { extraHeaders?: string[] } = {}): Inviter {
    const conn = this.conn!;
    const target = UserAgent.makeURI(targetUri(destination, conn.account));
    if (!target) throw new SipError('bad_request', `not a SIP destination: ${destination}`);
    return new Inviter(conn.ua, target, { sessionDescriptionHandlerOptions: this.sdhOptions(), ...extra });
  }

  /** Sends the INVITE of `inviter`, recording its final status; `onRinging` on 180/183 (default: the dialing call rings). */
  protected sendInvite(inviter: Inviter, onRinging = () => this.ringing(inviter)): void {
    this.watch(inviter);
    inviter
      .invite({
        requestDelegate: {
          onProgress: (res) => {
            if (res.message.statusCode === 180 || res.message.statusCode === 183) onRinging();
          },
          onReject: (res) => this.finals.set(inviter, res.message.statusCode ?? 500),
        },
      })
      .catch((err: unknown) => {
        this.fail(toSipError(err, 'unavailable'));
        this.endSession(inviter);
      });
  }

  /** A 180/183 for `inviter`: the call rings, if it is still the one dialing. */
  private ringing(inviter: Inviter): void {
    if (this.session === inviter && this._state === 'dialing') this.setState('ringing');
  }

  /** Makes `session` the current call. */
  protected adopt(session: Session, info: CallInfo): void {
    this.session = session;
    this.watch(session);
    this.setCall(info);
  }

  /** Follows a session's life and in-dialog requests (delegate hooks go to the on* methods). */
  protected watch(session: Session): void {
    if ((session as { astralWatched?: boolean }).astralWatched) return;
    (session as { astralWatched?: boolean }).astralWatched = true;
    session.sessionDescriptionHandlerOptionsReInvite = this.sdhOptions();
    session.delegate = {
      onSessionDescriptionHandler: () => this.play(),
      onInfo: (info) => this.onInfo(session, info),
      onRefer: (referral) => this.onRefer(session, referral),
      onInvite: (request) => {
        // A re-INVITE from the far side: note its hold state, then re-apply ours to the (re)negotiated tracks.
        if (session === this.session && this._call) {
          const held = sdpHolds(request.body);
          if (held !== null && held !== !!this._call.remoteHeld) this.setCall({ ...this._call, remoteHeld: held });
        }
        this.retrack();
      },
      onCancel: () => this.cancelled.add(session),
    };
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) this.onEstablished(session);
      // sip.js turns Terminated before it hands us the final response (onReject): look at it a tick later.
      else if (state === SessionState.Terminated) queueMicrotask(() => this.onTerminated(session));
    });
  }

  protected onEstablished(session: Session): void {
    this.play();
    this.retrack();
    watchIcePath(session, (up) => session === this.session && this.quality.monitor.setConnectivity(up));
    if (session === this.session && this._call && (this._state === 'dialing' || this._state === 'ringing')) {
      this.setCall({ ...this._call, answeredAt: Date.now() });
      this.setState('in-call');
    }
  }

  protected onTerminated(session: Session): void {
    if (session !== this.session) return;
    const call = this._call;
    if (!call) return;
    if (this.transferred.has(session)) return this.finish(session, { disposition: 'ANSWERED', reason: 'transferred' });
    if (call.answeredAt) return this.finish(session, { disposition: 'ANSWERED', reason: 'hangup' });
    const status = this.finals.get(session) ?? 0;
    this.finish(session, unanswered(status, this.cancelled.has(session) || (call.direction === 'outgoing' && status === 0)));
  }

  /** Ends a session whatever its stage: CANCEL, reject or BYE. */
  protected endSession(session: Session): void {
    const quiet = () => undefined;
    if (session instanceof Inviter && session.state !== SessionState.Established) {
      this.cancelled.add(session);
      if (session.state === SessionState.Initial || session.state === SessionState.Establishing) session.cancel().catch(quiet);
      else void session.dispose().catch(quiet);
    } else if (session instanceof Invitation && session.state !== SessionState.Established) {
      session.reject({ statusCode: 603 }).catch(quiet);
    } else if (session.state === SessionState.Established) {
      session.bye().catch(() => void session.dispose().catch(quiet));
    }
  }

  protected finish(session: Session | null, end: CallEnd | null): void {
    const call = this._call;
    if (!call || (session && session !== this.session)) return;
    this.session = null;
    this.devices.useMic(null);
    this.setCall(null);
    this.play();
    this.emitCallEnded(call, end);
    if (this.conn) this.setState(this.registered ? 'ready' : 'reconnecting');
  }

  /** Re-applies mute/hold to every live session's tracks. */
  protected retrack(): void {
    const call = this._call;
    if (this.session) applyTracks(this.session, { muted: call?.muted ?? false, held: (call?.held ?? false) || this.consult !== null });
    if (this.consult) applyTracks(this.consult, { muted: call?.muted ?? false, held: false });
    // (Re-)negotiation may have opened a new microphone: watch the one in use.
    if (this.micLine.micTrack()) this.devices.useMic(this.micLine);
  }

  /** Points the audio element at the audible session's remote stream. */
  protected play(): void {
    const stream = this.remoteStream;
    if (this.audio.srcObject !== stream) this.audio.srcObject = stream;
    if (stream) this.audio.play().catch(() => undefined);
  }

  // Hooks SipClient implements.
  protected onInfo(_session: Session, info: { accept(): Promise<void> }): void {
    info.accept().catch(() => undefined);
  }
  protected onRefer(_session: Session, referral: { reject(): Promise<void> }): void {
    referral.reject().catch(() => undefined);
  }
  /** An INVITE with Replaces for one of our sessions (attended transfer target side). */
  protected onReplace(invitation: Invitation, _replaced: Session): void {
    invitation.reject({ statusCode: 481 }).catch(() => undefined);
  }
  /** After a reconnect with an answered call: refresh the dialog's route (SipClient sends a re-INVITE). */
  protected refreshCall(): void {
    this.setState('in-call');
  }

  private onInvite(invitation: Invitation): void {
    const replaced = invitation.replacee;
    if (replaced && (replaced === this.session || replaced === this.consult)) return this.onReplace(invitation, replaced);
    if (this._state !== 'ready' || this.session) {
      invitation.reject({ statusCode: 486 }).catch(() => undefined);
      return;
    }
    const from = partyOf(invitation.remoteIdentity.uri, invitation.remoteIdentity.displayName);
    const id = callIdOf(invitation);
    this.adopt(invitation, { id, direction: 'incoming', remote: from, answeredAt: null, muted: false, remoteMuted: false });
    this.setState('incoming');
    this.emit('incoming', { callId: id, from, ...(this.dnd ? { silent: true } : {}) });
  }

  private onRegistered(again: boolean): void {
    this.registered = true;
    const account = this.conn!.account;
    this._user = partyOf(UserAgent.makeURI(account.uri), account.display_name);
    if (this._call?.answeredAt && again) this.refreshCall();
    else if (!this._call) this.setState('ready');
    this.emit('ready', { user: this._user });
  }

  private onLost(): void {
    this.registered = false;
    // An answered call keeps its media (peer to peer) and its dialog; a call still ringing cannot survive.
    if (this._call && !this._call.answeredAt && this.session) {
      const session = this.session;
      this.endSession(session);
      this.finish(session, null);
    }
    this.setState('reconnecting');
  }
}
