// CallControl: owns every live call — create, ring, answer/join, decline, leave/hang up, end — and drives its media and records
// (alerting rung endpoints, in-call controls and the calls' rows are their own modules).
import type { CallDirection, ClientPayload, Disposition, EndReason, PartyInfo } from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { MediaService } from '../media/service.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import { Alerting } from './alerting.js';
import { Call } from './call.js';
import { CallRecords } from './call-records.js';
import { InCall } from './in-call.js';
import { LegRegistry, type Leg } from './legs.js';
import { AwayParties } from './away.js';
import { callLog } from './log.js';
import { MediaBridge } from './media-bridge.js';
import type { SessionNotifier } from './notifier.js';
import type { Journeys } from './journey.js';
import type { Recordings } from './recordings.js';
import { DECLINED, dispositionOf, Ringer, type Refusal, type RingObserver, type RingOptions, type RingOutcome } from './ringing.js';
import { partyOf, type Session, type SessionRegistry } from './sessions.js';

export interface CallControlDeps {
  store: Store;
  media: MediaService;
  notifier: SessionNotifier;
  sessions: SessionRegistry;
  ringTimeoutMs: number;
  /** How long an answered call waits for a party whose connection dropped to come back (0: end at once). */
  reconnectGraceMs: number;
  log: FastifyBaseLogger;
  recordings: Recordings;
  journeys: Journeys;
  /** Told how each ring settled (metrics). */
  onRing?: RingObserver;
  /** Several nodes: records which node owns each live call (created here, released when it ends). */
  ownership?: { claim(callId: string): void; release(callId: string): void };
}

/** Observes call changes; channel calls use it to publish gateway events. */
export interface CallListener {
  joined(call: Call, sessionId: string): void;
  left(call: Call, sessionId: string, userId: string): void;
  ringingChanged(call: Call): void;
  ended(call: Call): void;
}

export class CallControl {
  private readonly calls = new Map<string, Call>();
  private readonly bridge: MediaBridge;
  readonly legs = new LegRegistry();
  /** Parties whose connection dropped mid-call, by `callId:sessionId`, until they resume or time out. */
  private readonly away: AwayParties;
  /** When each user's last call ended (longest-idle queues). */
  readonly lastCallEnded = new Map<string, number>();
  listener: CallListener | null = null;
  private readonly ringer: Ringer;
  /** Set by drain(): the server is shutting down and creates no calls. */
  private draining = false;
  /** The calls' rows in the store, and every write in flight (drain() waits for them). */
  private readonly records: CallRecords;
  private readonly alerting: Alerting;
  private readonly inCall: InCall;

  /** True once drain() began (/readyz answers `draining`). */
  get isDraining(): boolean {
    return this.draining;
  }

  constructor(private readonly deps: CallControlDeps) {
    this.bridge = new MediaBridge(deps.media, deps.notifier, deps.log);
    this.away = new AwayParties(deps.reconnectGraceMs);
    this.records = new CallRecords(deps.store, deps.log);
    this.inCall = new InCall({ media: deps.media, notifier: deps.notifier, journeys: deps.journeys, changed: (call, sessionId) => this.listener?.joined(call, sessionId) });
    this.alerting = new Alerting({
      legs: this.legs,
      notifier: deps.notifier,
      refused: (call, userId, refusal) => this.ringer.refused(call, userId, refusal),
      ended: (sessionId, call, disposition, reason) => this.notifyEnded(sessionId, call, disposition, reason, 0, 0),
    });
    this.ringer = new Ringer(deps.sessions, {
      alert: (call, sessionId, party, silent, from) => this.alerting.alert(call, sessionId, party, silent, from),
      stopAlerting: (call, userId, reason) => this.alerting.stopAlerting(call, userId, reason),
      isBusy: (userId, call) => {
        const busyWith = this.callOfUser(userId);
        return busyWith !== undefined && busyWith !== call;
      },
    }, deps.onRing);
  }

  get activeCount(): number {
    return this.calls.size;
  }

  /** Live calls by state and live legs by whether they are answered (metrics). */
  census(): { calls: Record<'ringing' | 'answered', number>; legs: Record<'ringing' | 'answered', number> } {
    const calls = { ringing: 0, answered: 0 };
    for (const call of this.calls.values()) if (call.state !== 'ended') calls[call.state] += 1;
    const legs = { ringing: 0, answered: 0 };
    for (const leg of this.legs.all()) legs[leg.answeredAt ? 'answered' : 'ringing'] += 1;
    return { calls, legs };
  }

  /** The ids of the live calls. */
  get liveIds(): string[] {
    return [...this.calls.keys()];
  }

  get(callId: string): Call | undefined {
    return this.calls.get(callId);
  }

  /** The live call a user is joined in or being rung for. */
  callOfUser(userId: string): Call | undefined {
    for (const call of this.calls.values()) {
      if ([...call.joined.values()].some((p) => p.party.userId === userId) || call.ringingUserIds.includes(userId)) return call;
    }
    return undefined;
  }

  /** Throws `unavailable` once the server drains for shutdown: every new call is created here (or checked first, when set-up precedes it). */
  refuseWhileDraining(): void {
    if (this.draining) throw new AppError('unavailable', 'the server is shutting down and takes no new calls; try again shortly');
  }

  create(opts: { instanceId: string; kind: Call['kind']; caller: PartyInfo; callerSession: string | null; callee: PartyInfo | null; channelId: string | null; region?: string }): Call {
    this.refuseWhileDraining();
    const { store, media } = this.deps;
    const call = new Call(
      store.ids.next(),
      opts.instanceId,
      opts.kind,
      opts.caller,
      opts.callerSession,
      opts.callee,
      opts.channelId,
      opts.region ?? media.defaultRegion,
      new Date(),
    );
    this.calls.set(call.id, call);
    this.deps.ownership?.claim(call.id);
    return call;
  }

  /** Stores the call's row (its later changes wait for it). */
  persistStart(call: Call, toUserId: string | null, direction: CallDirection = 'internal'): Promise<void> {
    return this.records.start(call, toUserId, direction);
  }

  /** A rung SIP leg has early media (183): the joined parties hear it before the answer. */
  earlyMedia(call: Call, sessionId: string): void {
    if (call.role(sessionId) !== 'rung') return;
    call.earlyMedia.add(sessionId);
    this.bridge.sync(call);
  }

  /** Media and recording follow the call's current parties (after the server adds or removes audio). */
  syncMedia(call: Call): void {
    this.bridge.sync(call);
    this.deps.recordings.sync(call);
  }

  /** Resolves once the call's recording hears every party's audio so far (at once for a call not recorded). */
  recordingStarted(call: Call): Promise<void> {
    return this.deps.recordings.tapped(call.id);
  }

  /** Rings parties for the call (the one ring operation: direct dial, queues, transfers, click-to-call, channels, trunks). */
  ring(call: Call, parties: PartyInfo[], opts: RingOptions): Promise<RingOutcome> {
    return this.ringer.ring(call, parties, opts);
  }

  /** Runs call work that nobody awaits (a ring's continuation, routing): a failure is logged with the call, never unhandled. */
  detach(call: Call, work: Promise<unknown>): void {
    work.catch((err: unknown) => callLog(this.deps.log, call).error({ err }, 'call work failed'));
  }

  /** A ring the call was waiting for did not connect: the call ends with its disposition (an answered call stays ANSWERED). */
  endAfterRing(call: Call, outcome: RingOutcome): void {
    if (outcome.result === 'answered') return;
    this.end(call, call.answeredAt ? 'ANSWERED' : dispositionOf(outcome), outcome.reason);
  }

  answer(session: Session, callId: string): void {
    const call = this.callFor(session, callId);
    if (call.role(session.id) !== 'rung') throw new AppError('invalid_state', 'this session is not being rung for the call');
    this.join(call, session);
  }

  /** Joins a session to a call (answer, or a voice-state join of a channel call). */
  join(call: Call, session: Session): void {
    const wasAnswered = call.answeredAt !== null;
    const wasRung = call.ringingUserIds.includes(session.principal.party.userId);
    const at = new Date();
    const stopped = call.join(session.id, partyOf(session), at);
    this.legs.open(call.id, session.id, partyOf(session), at);
    for (const sessionId of stopped) {
      this.legs.close(call.id, sessionId);
      this.notifyEnded(sessionId, call, 'ANSWERED', 'answered_elsewhere', 0, 0);
    }
    if (call.answeredAt) for (const leg of this.legs.ofCall(call.id)) if (call.joined.has(leg.sessionId)) leg.answeredAt ??= at;
    this.deps.journeys.joined(call, partyOf(session), session.id, wasRung);
    if (!wasAnswered && call.answeredAt) {
      for (const peer of call.peersOf(session.id)) {
        this.deps.notifier.notify(peer, 'call:answered', { callId: call.id, answeredAt: at.toISOString() });
      }
      this.records.answered(call, at);
    }
    this.listener?.joined(call, session.id);
    if (wasRung) this.listener?.ringingChanged(call);
    if (wasRung) this.ringer.answered(call, session.id);
    this.syncMedia(call);
  }

  /** A rung endpoint says no: a widget declines (BUSY); a trunk leg reports its SIP failure. The ring decides what follows. */
  decline(session: Session, callId: string, refusal: Refusal = DECLINED): void {
    const call = this.callFor(session, callId);
    if (call.role(session.id) !== 'rung') throw new AppError('invalid_state', 'only a ringing call can be declined');
    const userId = session.principal.party.userId;
    for (const sessionId of call.stopRinging(userId)) {
      this.legs.close(call.id, sessionId);
      this.notifyEnded(sessionId, call, dispositionOf(refusal), refusal.reason, 0, 0);
    }
    this.ringer.refused(call, userId, refusal);
  }

  hangup(session: Session, callId: string): void {
    const call = this.callFor(session, callId);
    if (call.role(session.id) === 'rung') return this.decline(session, callId);
    this.leave(call, session.id);
  }

  /** A joined session leaves: a direct call ends; a channel call ends once abandoned. */
  leave(call: Call, sessionId: string): void {
    const participant = call.joined.get(sessionId);
    if (!participant || call.onLeave?.(sessionId)) return;
    if (call.kind === 'direct') {
      if (call.answeredAt) this.end(call, 'ANSWERED', 'hangup');
      else this.end(call, 'NO ANSWER', 'cancelled');
      return;
    }
    call.joined.delete(sessionId);
    this.legs.close(call.id, sessionId);
    this.deps.media.endCall(sessionId, call.id);
    this.notifyEnded(sessionId, call, call.answeredAt ? 'ANSWERED' : 'NO ANSWER', 'hangup', ...this.secondsOf(call));
    this.listener?.left(call, sessionId, participant.party.userId);
    if (call.abandoned) this.end(call, call.answeredAt ? 'ANSWERED' : 'NO ANSWER', call.answeredAt ? 'hangup' : 'cancelled');
  }

  /** Stops ringing users (a channel's stop-ringing); their rings settle as cancelled and their widgets return to ready. */
  stopRinging(call: Call, userIds: string[]): void {
    this.ringer.cancel(call, userIds);
  }

  async produce(session: Session, payload: ClientPayload<'media:produce'>): Promise<string> {
    const call = this.callFor(session, payload.callId);
    if (call.role(session.id) !== 'joined') throw new AppError('invalid_state', 'answer the call before sending media');
    const producerId = await this.deps.media.produce(session.id, payload.transportId, payload.rtpParameters, call.id);
    if (call.state === 'ended' || call.role(session.id) !== 'joined') this.deps.media.endCall(session.id, call.id);
    else this.syncMedia(call);
    return producerId;
  }

  /** The session's media was (re)built: make sure it hears everyone in its call, and they (and its recording) hear it. */
  mediaReady(sessionId: string): void {
    for (const call of this.callsJoinedBy(sessionId)) this.syncMedia(call);
  }

  callsJoinedBy(sessionId: string): Call[] {
    return [...this.calls.values()].filter((call) => call.role(sessionId) === 'joined');
  }

  mute(session: Session, callId: string, muted: boolean): Promise<void> {
    return this.inCall.mute(this.callFor(session, callId), session.id, muted);
  }

  hold(session: Session, callId: string, held: boolean): Promise<void> {
    return this.inCall.hold(this.callFor(session, callId), session.id, held);
  }

  holdSession(call: Call, sessionId: string, held: boolean): Promise<void> {
    return this.inCall.holdSession(call, sessionId, held);
  }

  dtmf(session: Session, callId: string, digits: string): void {
    this.inCall.dtmf(this.callFor(session, callId), session, digits);
  }

  /** A widget connection closed: it leaves its calls and its media is released. */
  sessionClosed(sessionId: string): void {
    for (const call of [...this.calls.values()]) {
      const role = call.role(sessionId);
      if (role === 'rung') this.alerting.drop(call, sessionId);
      else if (role === 'joined' && call.answeredAt && this.away.enabled) {
        this.away.hold(call, sessionId, () => call.role(sessionId) === 'joined' && this.dropJoined(call, sessionId));
      }
      else if (role === 'joined') this.dropJoined(call, sessionId);
    }
    this.deps.media.closeSession(sessionId);
  }

  private dropJoined(call: Call, sessionId: string): void {
    if (call.kind === 'direct') this.end(call, call.answeredAt ? 'ANSWERED' : 'NO ANSWER', 'disconnected');
    else this.leave(call, sessionId);
  }

  /** The same user, reconnected, takes back its place in a call; its media is rebuilt by producing again. */
  resume(session: Session, callId: string): void {
    const call = this.calls.get(callId);
    const oldSession = call && this.away.take(callId, session.principal.party.userId);
    if (!call || !oldSession) throw new AppError('not_found', `no call ${callId} waiting for you to reconnect`);
    call.rekey(oldSession, session.id);
    this.legs.rekey(call.id, oldSession, session.id);
  }

  /**
   * Graceful shutdown: refuses new calls, lets live ones finish for up to `graceMs`, ends the rest (`server_shutdown`)
   * and waits until every call record and recording is written.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + graceMs;
    while (this.calls.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(200, deadline - Date.now())));
    for (const call of [...this.calls.values()]) this.end(call, call.answeredAt ? 'ANSWERED' : 'FAILED', 'server_shutdown');
    await this.records.flushed();
  }

  /** Per-call state still held: the calls, their legs and open journeys (all 0 once every call ended), and idle times kept per queue member. */
  retained(): { calls: number; legs: number; journeys: number; idleTimes: number } {
    return { calls: this.calls.size, legs: this.legs.all().length, journeys: this.deps.journeys.open, idleTimes: this.lastCallEnded.size };
  }

  /** Ends every live call (server shutdown). */
  endAll(): void {
    for (const call of [...this.calls.values()]) this.end(call, call.answeredAt ? 'ANSWERED' : 'FAILED', 'disconnected');
  }

  end(call: Call, disposition: Disposition, reason: EndReason): void {
    if (call.state === 'ended') return;
    const notify = call.involvedSessions;
    call.end();
    this.ringer.callEnded(call);
    for (const cleanup of call.cleanups.splice(0)) {
      try {
        cleanup();
      } catch (err) {
        callLog(this.deps.log, call).warn({ err }, 'call cleanup failed');
      }
    }
    // Only parties with an extension can be queue members; phone-network and agent parties are new on every call.
    for (const p of call.joined.values()) if (p.party.extension !== null) this.lastCallEnded.set(p.party.userId, Date.now());
    this.calls.delete(call.id);
    this.deps.ownership?.release(call.id);
    this.legs.closeCall(call.id);
    this.records.track(this.deps.recordings.stop(call).catch((err: unknown) => callLog(this.deps.log, call).error({ err }, 'could not close a recording')));
    for (const sessionId of call.joined.keys()) this.deps.media.endCall(sessionId, call.id);
    const endedAt = new Date();
    const { duration, talkTime } = call.durations(endedAt);
    for (const sessionId of notify) this.notifyEnded(sessionId, call, disposition, reason, duration, talkTime);
    this.deps.journeys.finish(call, call.fromNumber, `${disposition.toLowerCase()} (${reason})`);
    this.listener?.ended(call);
    this.records.ended(call, { disposition, endReason: reason, endedAt, duration, talkTime });
  }

  /** Live legs with their call, for the operator's live view. */
  liveLegs(instanceId: string): { leg: Leg; call: Call }[] {
    return this.legs
      .all()
      .map((leg) => ({ leg, call: this.calls.get(leg.linkedId)! }))
      .filter(({ call }) => call && call.instanceId === instanceId);
  }

  /** Hangs up one leg, as an operator would: a talking party leaves, a ringing device stops ringing. */
  hangupLeg(instanceId: string, channelId: string): void {
    const leg = this.legs.get(channelId);
    const call = leg && this.calls.get(leg.linkedId);
    if (!leg || !call || call.instanceId !== instanceId) throw new AppError('not_found', `no live channel ${channelId}`);
    if (call.role(leg.sessionId) === 'joined') return this.leave(call, leg.sessionId);
    this.notifyEnded(leg.sessionId, call, 'NO ANSWER', 'cancelled', 0, 0);
    this.alerting.drop(call, leg.sessionId, { result: 'no-answer', reason: 'cancelled' });
  }

  callFor(session: Session, callId: string): Call {
    const call = this.calls.get(callId);
    if (!call || call.role(session.id) === null) throw new AppError('not_found', `no active call ${callId} for this session`);
    return call;
  }

  /** Takes a joined session out of a call without ending it (transfers); its widget is told why. */
  release(call: Call, sessionId: string, reason: EndReason): void {
    if (!call.joined.delete(sessionId)) return;
    this.legs.close(call.id, sessionId);
    this.deps.media.endCall(sessionId, call.id);
    this.notifyEnded(sessionId, call, 'ANSWERED', reason, ...this.secondsOf(call));
  }

  private secondsOf(call: Call): [number, number] {
    const { duration, talkTime } = call.durations(new Date());
    return [duration, talkTime];
  }

  private notifyEnded(sessionId: string, call: Call, disposition: Disposition, reason: EndReason, duration: number, talkTime: number): void {
    this.deps.notifier.notify(sessionId, 'call:ended', { callId: call.id, disposition, reason, duration, talkTime });
  }
}
