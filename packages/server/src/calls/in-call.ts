// InCall: what a party in a call does to its own part of it — mute, hold (its own, or its carrier's re-INVITE), DTMF —
// applied to its media and told to the other parties.
import type { MediaService } from '../media/service.js';
import { AppError } from '../util/errors.js';
import type { Call } from './call.js';
import type { Journeys } from './journey.js';
import type { SessionNotifier } from './notifier.js';
import { partyOf, type Session } from './sessions.js';

export interface InCallDeps {
  media: MediaService;
  notifier: SessionNotifier;
  journeys: Journeys;
  /** A participant's state changed (channel calls publish it). */
  changed: (call: Call, sessionId: string) => void;
}

export class InCall {
  constructor(private readonly deps: InCallDeps) {}

  async mute(call: Call, sessionId: string, muted: boolean): Promise<void> {
    const participant = call.joined.get(sessionId);
    await this.deps.media.setProducerPaused(sessionId, call.id, muted || !!participant?.held);
    if (participant) {
      participant.selfMute = muted;
      this.deps.changed(call, sessionId);
    }
    for (const peer of call.peersOf(sessionId)) this.deps.notifier.notify(peer, 'call:remote-muted', { callId: call.id, muted });
  }

  /** Hold: the session's microphone and what it hears are paused until it resumes; the others are told. */
  async hold(call: Call, sessionId: string, held: boolean): Promise<void> {
    if (call.role(sessionId) !== 'joined' || !call.answeredAt) throw new AppError('invalid_state', 'only an answered call can be held');
    if (call.consult?.transferee === sessionId) throw new AppError('invalid_state', 'you are on hold for a transfer');
    await this.holdSession(call, sessionId, held);
  }

  /** Holds or resumes a joined session without the checks a party's own request needs (transfers, a carrier's re-INVITE). */
  async holdSession(call: Call, sessionId: string, held: boolean): Promise<void> {
    const participant = call.joined.get(sessionId);
    if (!participant || participant.held === held) return;
    participant.held = held;
    const number = participant.party.extension ?? participant.party.identity;
    this.deps.journeys.step(call, held ? 'Hold' : 'Resume', number, call.toNumber, held ? 'held' : 'answered');
    await Promise.all([
      this.deps.media.setProducerPaused(sessionId, call.id, held || participant.selfMute),
      this.deps.media.setConsumersPaused(sessionId, call.id, held || participant.selfDeaf),
    ]);
    for (const peer of call.peersOf(sessionId)) this.deps.notifier.notify(peer, 'call:remote-held', { callId: call.id, held });
  }

  /** Digits go to the call's IVR when it has one, else to the other parties. */
  dtmf(call: Call, session: Session, digits: string): void {
    if (call.role(session.id) !== 'joined' || !call.answeredAt) throw new AppError('invalid_state', 'DTMF needs an answered call');
    const who = partyOf(session);
    this.deps.journeys.step(call, 'DTMF', who.extension ?? who.identity, call.toNumber, digits);
    if (call.onDtmf) return call.onDtmf(digits);
    for (const peer of call.peersOf(session.id)) this.deps.notifier.notify(peer, 'call:dtmf', { callId: call.id, digits });
  }
}
