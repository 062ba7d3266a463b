// Alerting: shows a call to the endpoints being rung (call:incoming, then the caller's ringback) and takes it back from
// them (their user's ring settled, or one endpoint dropped). The Ringer decides who rings; this does the telling.
import type { Disposition, EndReason, PartyInfo } from '@astral/protocol';
import type { Call } from './call.js';
import type { LegRegistry } from './legs.js';
import type { SessionNotifier } from './notifier.js';
import { BUSY, GONE, type Refusal } from './ringing.js';

const INCOMING_ACK_TIMEOUT_MS = 10_000;

export interface AlertingDeps {
  legs: LegRegistry;
  notifier: SessionNotifier;
  /** A user's last rung endpoint is gone: its ring settles with `refusal`. */
  refused: (call: Call, userId: string, refusal: Refusal) => void;
  /** Tells a rung session its part of the call is over. */
  ended: (sessionId: string, call: Call, disposition: Disposition, reason: EndReason) => void;
}

export class Alerting {
  constructor(private readonly deps: AlertingDeps) {}

  /** Alerts one endpoint, showing `from`; the caller hears ringback once any alerted endpoint confirms it rings. */
  alert(call: Call, sessionId: string, party: PartyInfo, silent: boolean, from: PartyInfo): void {
    const { legs, notifier } = this.deps;
    call.ringing.set(sessionId, party);
    legs.open(call.id, sessionId, party);
    notifier
      .request(
        sessionId,
        'call:incoming',
        {
          callId: call.id,
          from,
          ...(call.channelId ? { channelId: call.channelId } : {}),
          ...(silent ? { silent } : {}),
          ...(call.codec !== 'opus' ? { codec: call.codec } : {}),
        },
        INCOMING_ACK_TIMEOUT_MS,
      )
      .then((res) => {
        // Another node found the user in another call (rings stay on the node owning the call, busy checks there too).
        if (!res.ok && res.error.code === 'conflict') return this.drop(call, sessionId, BUSY);
        if (!res.ok || call.state === 'ended' || call.ringbackSent || !call.callerSession) return;
        call.ringbackSent = true;
        notifier.notify(call.callerSession, 'call:ringing', { callId: call.id });
      })
      .catch(() => this.drop(call, sessionId));
  }

  /** Stops alerting a user's endpoints without touching the rest of the call (its ring settled without them). */
  stopAlerting(call: Call, userId: string, reason: EndReason): void {
    for (const sessionId of call.stopRinging(userId)) {
      this.deps.legs.close(call.id, sessionId);
      this.deps.ended(sessionId, call, reason === 'answered_elsewhere' ? 'ANSWERED' : 'NO ANSWER', reason);
    }
  }

  /** One rung endpoint is gone (its connection dropped, or an operator hung it up); the ring goes on with the others. */
  drop(call: Call, sessionId: string, refusal: Refusal = GONE): void {
    const party = call.ringing.get(sessionId);
    if (call.state === 'ended' || !party) return;
    call.ringing.delete(sessionId);
    this.deps.legs.close(call.id, sessionId);
    if ([...call.ringing.values()].some((p) => p.userId === party.userId)) return;
    call.stopRinging(party.userId);
    this.deps.refused(call, party.userId, refusal);
  }
}
