// Call: one two-party call's state — who is rung, who answered, timestamps — with its legal transitions.
import type { PartyInfo } from '@astral/protocol';
import { AppError } from '../util/errors.js';

export type CallState = 'ringing' | 'answered' | 'ended';

export class Call {
  state: CallState = 'ringing';
  /** Callee sessions still ringing; emptied at answer or end. */
  readonly ringing: Set<string>;
  calleeSession: string | null = null;
  answeredAt: Date | null = null;
  /** Whether the caller has been told a callee widget is ringing. */
  ringbackSent = false;
  ringTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly caller: PartyInfo,
    readonly callerSession: string,
    readonly callee: PartyInfo,
    calleeSessions: string[],
    readonly startedAt: Date,
  ) {
    this.ringing = new Set(calleeSessions);
  }

  /** The sessions currently taking part (caller, and the answering callee session). */
  get connectedSessions(): string[] {
    return this.calleeSession ? [this.callerSession, this.calleeSession] : [this.callerSession];
  }

  /** Every session that should hear about the call's end. */
  get involvedSessions(): string[] {
    return [...new Set([...this.connectedSessions, ...this.ringing])];
  }

  role(sessionId: string): 'caller' | 'callee' | 'rung' | null {
    if (sessionId === this.callerSession) return 'caller';
    if (sessionId === this.calleeSession) return 'callee';
    if (this.ringing.has(sessionId)) return 'rung';
    return null;
  }

  /** The other connected session, for relaying DTMF, mute and media. */
  peerOf(sessionId: string): string | null {
    if (sessionId === this.callerSession) return this.calleeSession;
    if (sessionId === this.calleeSession) return this.callerSession;
    return null;
  }

  answer(sessionId: string, at: Date): string[] {
    if (this.state !== 'ringing') throw new AppError('invalid_state', `call ${this.id} is ${this.state}, not ringing`);
    if (!this.ringing.has(sessionId)) throw new AppError('forbidden', 'this session is not being rung for the call');
    this.state = 'answered';
    this.answeredAt = at;
    this.calleeSession = sessionId;
    this.ringing.delete(sessionId);
    const others = [...this.ringing];
    this.ringing.clear();
    this.clearTimer();
    return others;
  }

  end(): void {
    this.state = 'ended';
    this.clearTimer();
  }

  clearTimer(): void {
    if (this.ringTimer) clearTimeout(this.ringTimer);
    this.ringTimer = null;
  }

  durations(endedAt: Date): { duration: number; talkTime: number } {
    const seconds = (from: Date) => Math.max(0, Math.round((endedAt.getTime() - from.getTime()) / 1000));
    return { duration: seconds(this.startedAt), talkTime: this.answeredAt ? seconds(this.answeredAt) : 0 };
  }
}
