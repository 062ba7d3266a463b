// CallControl: dial, ring, answer, decline, hang up, mute, DTMF; owns every live call and drives media and records.
import type { ClientPayload, Disposition, EndReason, PartyInfo } from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { MediaService } from '../media/service.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import { Call } from './call.js';
import { MediaBridge } from './media-bridge.js';
import type { SessionNotifier } from './notifier.js';
import { partyOf, type Session, type SessionRegistry } from './sessions.js';

export interface CallControlDeps {
  store: Store;
  media: MediaService;
  sessions: SessionRegistry;
  notifier: SessionNotifier;
  ringTimeoutMs: number;
  log: FastifyBaseLogger;
}

const INCOMING_ACK_TIMEOUT_MS = 10_000;

export class CallControl {
  private readonly calls = new Map<string, Call>();
  /** userId → the call the user is in (ringing or talking): a user is busy while listed. */
  private readonly userCalls = new Map<string, string>();
  private readonly bridge: MediaBridge;

  constructor(private readonly deps: CallControlDeps) {
    this.bridge = new MediaBridge(deps.media, deps.notifier, deps.log);
  }

  get activeCount(): number {
    return this.calls.size;
  }

  async dial(session: Session, destination: string): Promise<{ callId: string; to: PartyInfo }> {
    const { store, sessions } = this.deps;
    const caller = partyOf(session.claims);
    if (this.userCalls.has(caller.userId)) throw new AppError('invalid_state', 'you are already in a call');
    const calleeRow = /^[0-9*#+]+$/.test(destination)
      ? ((await store.users.byExtension(session.claims.instanceId, destination)) ??
        (await store.users.byIdentity(session.claims.instanceId, destination)))
      : await store.users.byIdentity(session.claims.instanceId, destination);
    if (!calleeRow) throw new AppError('not_found', `no user or extension "${destination}"`);
    if (calleeRow.id === caller.userId) throw new AppError('bad_request', 'you cannot call yourself');
    // The check above awaited: the caller may have started another call meanwhile.
    if (this.userCalls.has(caller.userId)) throw new AppError('invalid_state', 'you are already in a call');
    const callee: PartyInfo = {
      userId: calleeRow.id,
      identity: calleeRow.identity,
      displayName: calleeRow.display_name,
      extension: calleeRow.extension,
    };
    const busy = this.userCalls.has(callee.userId);
    const calleeSessions = busy ? [] : sessions.ofUser(callee.userId);
    const call = new Call(store.ids.next(), session.claims.instanceId, caller, session.id, callee, calleeSessions, new Date());
    this.calls.set(call.id, call);
    this.userCalls.set(caller.userId, call.id);
    await store.calls.insert({
      id: call.id,
      instanceId: call.instanceId,
      fromUserId: caller.userId,
      toUserId: callee.userId,
      fromNumber: caller.extension ?? caller.identity,
      toNumber: callee.extension ?? callee.identity,
      direction: 'internal',
      startedAt: call.startedAt,
    });
    if (busy || calleeSessions.length === 0) {
      // Answer the dial first, then report the outcome, as a PBX answers INVITE with 100 then 486/480.
      setImmediate(() => this.end(call, busy ? 'BUSY' : 'FAILED', busy ? 'busy' : 'unavailable'));
      return { callId: call.id, to: callee };
    }
    this.userCalls.set(callee.userId, call.id);
    call.ringTimer = setTimeout(() => this.end(call, 'NO ANSWER', 'timeout'), this.deps.ringTimeoutMs);
    for (const sessionId of calleeSessions) this.ring(call, sessionId);
    return { callId: call.id, to: callee };
  }

  private ring(call: Call, sessionId: string): void {
    this.deps.notifier
      .request(sessionId, 'call:incoming', { callId: call.id, from: call.caller }, INCOMING_ACK_TIMEOUT_MS)
      .then((res) => {
        if (!res.ok || call.state !== 'ringing' || call.ringbackSent) return;
        call.ringbackSent = true;
        this.deps.notifier.notify(call.callerSession, 'call:ringing', { callId: call.id });
      })
      .catch(() => this.dropRungSession(call, sessionId));
  }

  answer(session: Session, callId: string): void {
    const call = this.callFor(session, callId);
    const at = new Date();
    const others = call.answer(session.id, at);
    for (const sessionId of others) {
      this.deps.notifier.notify(sessionId, 'call:ended', {
        callId,
        disposition: 'ANSWERED',
        reason: 'answered_elsewhere',
        duration: 0,
        talkTime: 0,
      });
    }
    this.deps.notifier.notify(call.callerSession, 'call:answered', { callId, answeredAt: at.toISOString() });
    this.persist(this.deps.store.calls.markAnswered(callId, at));
    this.bridge.sync(call);
  }

  decline(session: Session, callId: string): void {
    const call = this.callFor(session, callId);
    if (call.role(session.id) !== 'rung') throw new AppError('invalid_state', 'only a ringing call can be declined');
    this.end(call, 'BUSY', 'declined');
  }

  hangup(session: Session, callId: string): void {
    const call = this.callFor(session, callId);
    const role = call.role(session.id);
    if (call.state === 'answered') this.end(call, 'ANSWERED', 'hangup');
    else if (role === 'caller') this.end(call, 'NO ANSWER', 'cancelled');
    else this.end(call, 'BUSY', 'declined');
  }

  async produce(session: Session, payload: ClientPayload<'media:produce'>): Promise<string> {
    const call = this.callFor(session, payload.callId);
    const role = call.role(session.id);
    if (role !== 'caller' && role !== 'callee') throw new AppError('invalid_state', 'answer the call before sending media');
    const producerId = await this.deps.media.produce(session.id, payload.transportId, payload.rtpParameters, call.id);
    if (call.state === 'ended') this.deps.media.endCall(session.id, call.id);
    else this.bridge.sync(call);
    return producerId;
  }

  async mute(session: Session, callId: string, muted: boolean): Promise<void> {
    const call = this.callFor(session, callId);
    await this.deps.media.setProducerPaused(session.id, callId, muted);
    const peer = call.peerOf(session.id);
    if (peer) this.deps.notifier.notify(peer, 'call:remote-muted', { callId, muted });
  }

  dtmf(session: Session, callId: string, digits: string): void {
    const call = this.callFor(session, callId);
    if (call.state !== 'answered') throw new AppError('invalid_state', 'DTMF needs an answered call');
    const peer = call.peerOf(session.id);
    if (peer) this.deps.notifier.notify(peer, 'call:dtmf', { callId, digits });
  }

  /** A widget connection closed: its calls end and its media is released. */
  sessionClosed(sessionId: string): void {
    for (const call of [...this.calls.values()]) {
      const role = call.role(sessionId);
      if (role === 'rung') this.dropRungSession(call, sessionId);
      else if (role) this.end(call, call.state === 'answered' ? 'ANSWERED' : 'NO ANSWER', 'disconnected');
    }
    this.deps.media.closeSession(sessionId);
  }

  /** Ends every live call (server shutdown). */
  endAll(): void {
    for (const call of [...this.calls.values()]) {
      this.end(call, call.state === 'answered' ? 'ANSWERED' : 'FAILED', 'disconnected');
    }
  }

  private dropRungSession(call: Call, sessionId: string): void {
    if (call.state !== 'ringing' || !call.ringing.delete(sessionId)) return;
    if (call.ringing.size === 0) this.end(call, 'FAILED', 'unavailable');
  }

  private callFor(session: Session, callId: string): Call {
    const call = this.calls.get(callId);
    if (!call || call.role(session.id) === null) throw new AppError('not_found', `no active call ${callId} for this session`);
    return call;
  }

  private end(call: Call, disposition: Disposition, reason: EndReason): void {
    if (call.state === 'ended') return;
    const notify = call.involvedSessions;
    call.end();
    this.calls.delete(call.id);
    for (const party of [call.caller, call.callee]) {
      if (this.userCalls.get(party.userId) === call.id) this.userCalls.delete(party.userId);
    }
    for (const sessionId of call.connectedSessions) this.deps.media.endCall(sessionId, call.id);
    const endedAt = new Date();
    const { duration, talkTime } = call.durations(endedAt);
    for (const sessionId of notify) {
      this.deps.notifier.notify(sessionId, 'call:ended', { callId: call.id, disposition, reason, duration, talkTime });
    }
    this.persist(this.deps.store.calls.markEnded(call.id, { disposition, endReason: reason, endedAt, duration, talkTime }));
  }

  private persist(write: Promise<void>): void {
    write.catch((err: unknown) => this.deps.log.error({ err }, 'could not persist a call change'));
  }
}
