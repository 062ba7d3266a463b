// Ringing: the one way a call rings anyone — parties' endpoints, one timeout, a caller id, cancellable — settled to one outcome.
import type { Disposition, EndReason, PartyInfo } from '@astral/protocol';
import type { Call } from './call.js';
import type { SessionRegistry } from './sessions.js';

export type RingResult = 'answered' | 'declined' | 'busy' | 'no-answer' | 'failed' | 'cancelled';

export interface RingOutcome {
  result: RingResult;
  reason: EndReason;
  /** The answering session and its party (answered only). */
  sessionId?: string;
  party?: PartyInfo;
}

/** How one rung endpoint said no: a widget's decline, a SIP 486 / 480 / 503, a dropped connection. */
export type Refusal = Omit<RingOutcome, 'sessionId' | 'party'> & { result: 'declined' | 'busy' | 'no-answer' | 'failed' };

export const DECLINED: Refusal = { result: 'declined', reason: 'declined' };
export const GONE: Refusal = { result: 'failed', reason: 'unavailable' };
export const BUSY: Refusal = { result: 'busy', reason: 'busy' };

export interface RingOptions {
  timeoutMs: number;
  /** What the rung phones show as the caller (default: the call's caller). */
  from?: PartyInfo;
  /** Aborting stops the ring (a transfer cancelled, a caller hung up); the outcome is `cancelled`. */
  signal?: AbortSignal;
}

/** The disposition and end reason a call gets when a ring ends it. */
export function dispositionOf(outcome: RingOutcome): Disposition {
  switch (outcome.result) {
    case 'answered':
      return 'ANSWERED';
    case 'declined':
    case 'busy':
      return 'BUSY';
    case 'no-answer':
    case 'cancelled':
      return 'NO ANSWER';
    default:
      return 'FAILED';
  }
}

/** What the ringer needs from call control: alert one endpoint, stop alerting a user, know who is busy. */
export interface RingTarget {
  alert(call: Call, sessionId: string, party: PartyInfo, silent: boolean, from: PartyInfo): void;
  /** Stops ringing a user's endpoints for the call, telling them why. */
  stopAlerting(call: Call, userId: string, reason: EndReason): void;
  isBusy(userId: string, call: Call): boolean;
}

/** Told how each ring settled and how long it rang (metrics). */
export type RingObserver = (call: Call, outcome: RingOutcome, ringMs: number) => void;

interface Attempt {
  call: Call;
  userIds: Set<string>;
  settle(outcome: RingOutcome): void;
}

export class Ringer {
  private readonly attempts = new Map<string, Set<Attempt>>();

  constructor(
    private readonly sessions: SessionRegistry,
    private readonly target: RingTarget,
    private readonly observe: RingObserver = () => {},
  ) {}

  /** Rings every endpoint of `parties`; resolves once one answers, all refuse, the timeout passes, or it is aborted. */
  ring(call: Call, parties: PartyInfo[], opts: RingOptions): Promise<RingOutcome> {
    const { sessions, target } = this;
    const busy = parties.filter((p) => target.isBusy(p.userId, call));
    const reachable = parties.filter((p) => !busy.includes(p) && sessions.ofUser(p.userId).length > 0);
    if (call.state === 'ended' || reachable.length === 0 || opts.signal?.aborted) {
      const outcome: RingOutcome =
        call.state === 'ended' || opts.signal?.aborted ? { result: 'cancelled', reason: 'cancelled' } : busy.length > 0 ? BUSY : GONE;
      // Settle after the current turn, as a PBX answers the INVITE with 100 before the 486/480.
      return new Promise((resolve) => setImmediate(() => resolve(outcome)));
    }
    const rangAt = Date.now();
    return new Promise((resolve) => {
      const onAbort = () => attempt.settle({ result: 'cancelled', reason: 'cancelled' });
      const timer = setTimeout(() => attempt.settle({ result: 'no-answer', reason: 'timeout' }), opts.timeoutMs);
      const attempt: Attempt = {
        call,
        userIds: new Set(reachable.map((p) => p.userId)),
        settle: (outcome) => {
          if (!this.remove(attempt)) return;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          const answeredBy = outcome.party?.userId;
          for (const userId of attempt.userIds) {
            if (userId === answeredBy || call.state === 'ended') continue;
            target.stopAlerting(call, userId, outcome.result === 'answered' ? 'answered_elsewhere' : outcome.reason);
          }
          this.observe(call, outcome, Date.now() - rangAt);
          resolve(outcome);
        },
      };
      const set = this.attempts.get(call.id) ?? new Set<Attempt>();
      set.add(attempt);
      this.attempts.set(call.id, set);
      opts.signal?.addEventListener('abort', onAbort);
      const from = opts.from ?? call.caller;
      for (const p of reachable) {
        for (const sessionId of sessions.ofUser(p.userId)) target.alert(call, sessionId, p, sessions.isDnd(p.userId), from);
      }
    });
  }

  /** Whether the call is ringing anyone through the ringer. */
  ringing(call: Call): boolean {
    return (this.attempts.get(call.id)?.size ?? 0) > 0;
  }

  /** A rung session answered (call control has joined it). */
  answered(call: Call, sessionId: string): void {
    const party = call.joined.get(sessionId)?.party;
    const attempt = party && this.attemptOf(call, party.userId);
    attempt?.settle({ result: 'answered', reason: 'hangup', sessionId, party });
  }

  /** A rung endpoint said no (it has already stopped ringing); the ring settles once none of its parties still rings. */
  refused(call: Call, userId: string, refusal: Refusal): void {
    const attempt = this.attemptOf(call, userId);
    if (!attempt) return;
    const stillRinging = [...call.ringing.values()].some((p) => attempt.userIds.has(p.userId));
    if (!stillRinging) attempt.settle(refusal);
  }

  /** Stops ringing these users (REST stop-ringing, an operator's hang-up of a ringing leg). */
  cancel(call: Call, userIds: string[], reason: EndReason = 'cancelled'): void {
    for (const userId of userIds) this.attemptOf(call, userId)?.settle({ result: 'cancelled', reason });
  }

  /** The call ended: every ring of it settles as cancelled (its endpoints were told by the end itself). */
  callEnded(call: Call): void {
    for (const attempt of [...(this.attempts.get(call.id) ?? [])]) attempt.settle({ result: 'cancelled', reason: 'cancelled' });
  }

  private attemptOf(call: Call, userId: string): Attempt | undefined {
    return [...(this.attempts.get(call.id) ?? [])].find((a) => a.userIds.has(userId));
  }

  /** Removes a settling attempt; false when it had already settled. */
  private remove(attempt: Attempt): boolean {
    const set = this.attempts.get(attempt.call.id);
    if (!set?.delete(attempt)) return false;
    if (set.size === 0) this.attempts.delete(attempt.call.id);
    return true;
  }
}
