// Call: one call's state — who joined, who is being rung, timestamps — for direct calls and channel calls alike.
import type { CallCodec, PartyInfo, VoiceState } from '@astral/protocol';
import { callSeconds } from '../store/calls.js';
import { AppError } from '../util/errors.js';

export type CallState = 'ringing' | 'answered' | 'ended';

/**
 * `direct`: a dialled two-party call; it ends when either party leaves.
 * `channel`: a channel's call; it lives while anyone is joined or being rung.
 */
export type CallKind = 'direct' | 'channel';

export interface Participant {
  party: PartyInfo;
  selfMute: boolean;
  selfDeaf: boolean;
  held: boolean;
}

export class Call {
  state: CallState = 'ringing';
  readonly joined = new Map<string, Participant>();
  /** Sessions being rung, with the user each belongs to. */
  readonly ringing = new Map<string, PartyInfo>();
  answeredAt: Date | null = null;
  /** Whether the caller has been told a callee widget is ringing. */
  ringbackSent = false;
  /** A transfer's ring of its target, until it settles (aborting it stops the ring). */
  transferRing: AbortController | null = null;
  /** Set while an IVR listens for the caller's digits (instead of relaying them). */
  onDtmf: ((digits: string) => void) | null = null;
  /** Audio the server itself plays into the call (IVR prompts): producer ids every joined session consumes. */
  readonly serverProducers = new Set<string>();
  /** Run when the call ends (stop IVR prompts, timers of routing steps). */
  readonly cleanups: (() => void)[] = [];
  /** What widgets send: Opus, or G.711 when the call reaches a SIP trunk (so nobody transcodes). */
  codec: 'opus' | CallCodec = 'opus';
  /**
   * The call record's writes so far, its insert then each change (settled either way): later writes wait for them, so a
   * call that ends while its dial is still being stored never has its end land before its row, nor (on PostgreSQL, whose
   * pool runs queries side by side) its answer after its end.
   */
  stored: Promise<unknown> = Promise.resolve();
  /** Rung sessions whose audio the joined parties already hear (a carrier's 183 early media: ringback, announcements). */
  readonly earlyMedia = new Set<string>();
  /** Record this call once answered (off per click-to-call `variables.record`, or globally). */
  record = true;
  /** Gets first say when a joined session leaves (an attended transfer completes on the transferer's hang-up). */
  onLeave: ((sessionId: string) => boolean) | null = null;
  /** An attended transfer in progress: the transferer consults the target while the transferee waits on hold. */
  consult: { transferer: string; transferee: string; target: PartyInfo } | null = null;

  /** Numbers as a PBX reports them: extension, else identity; `channel:<id>` for a channel call; the DID a carrier called. */
  fromNumber: string;
  toNumber: string;

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly kind: CallKind,
    readonly caller: PartyInfo,
    /** The session that dialled (null when a bot or the REST API started the call). */
    public callerSession: string | null,
    readonly callee: PartyInfo | null,
    readonly channelId: string | null,
    public region: string,
    readonly startedAt: Date,
  ) {
    this.fromNumber = caller.extension ?? caller.identity;
    this.toNumber = callee ? (callee.extension ?? callee.identity) : `channel:${channelId}`;
  }

  role(sessionId: string): 'joined' | 'rung' | null {
    if (this.joined.has(sessionId)) return 'joined';
    if (this.ringing.has(sessionId)) return 'rung';
    return null;
  }

  /** Every session that should hear about the call's end. */
  get involvedSessions(): string[] {
    return [...new Set([...this.joined.keys(), ...this.ringing.keys()])];
  }

  get ringingUserIds(): string[] {
    return [...new Set([...this.ringing.values()].map((p) => p.userId))];
  }

  /** Joined sessions other than `sessionId`, for relaying DTMF, mute and media. */
  peersOf(sessionId: string): string[] {
    return [...this.joined.keys()].filter((s) => s !== sessionId);
  }

  /** A party came back on a new connection (after a network drop): its session id changes, nothing else. */
  rekey(oldSession: string, newSession: string): void {
    const participant = this.joined.get(oldSession);
    if (!participant) return;
    this.joined.delete(oldSession);
    this.joined.set(newSession, participant);
    if (this.callerSession === oldSession) this.callerSession = newSession;
    if (this.consult?.transferer === oldSession) this.consult.transferer = newSession;
    if (this.consult?.transferee === oldSession) this.consult.transferee = newSession;
  }

  /** Adds a joined session; returns the user's other sessions that were still ringing (they stop). */
  join(sessionId: string, party: PartyInfo, at: Date): string[] {
    if (this.state === 'ended') throw new AppError('invalid_state', `call ${this.id} has ended`);
    if (this.kind === 'direct' && !this.ringing.has(sessionId) && this.joined.size > 0) {
      throw new AppError('forbidden', 'this session is not being rung for the call');
    }
    this.joined.set(sessionId, { party, selfMute: false, selfDeaf: false, held: false });
    const others = this.stopRinging(party.userId).filter((s) => s !== sessionId);
    if (this.joined.size >= 2 && !this.answeredAt) {
      this.state = 'answered';
      this.answeredAt = at;
    }
    return others;
  }

  /** Stops ringing a user; returns the sessions that were ringing. */
  stopRinging(userId: string): string[] {
    const sessions = [...this.ringing].filter(([, p]) => p.userId === userId).map(([s]) => s);
    for (const s of sessions) this.ringing.delete(s);
    return sessions;
  }

  /** A channel call with nobody joined and nobody rung is over. */
  get abandoned(): boolean {
    return this.joined.size === 0 && this.ringing.size === 0;
  }

  voiceState(sessionId: string): VoiceState | null {
    const p = this.joined.get(sessionId);
    if (!p || !this.channelId) return null;
    return { channel_id: this.channelId, user_id: p.party.userId, session_id: sessionId, self_mute: p.selfMute, self_deaf: p.selfDeaf };
  }

  get voiceStates(): VoiceState[] {
    return [...this.joined.keys()].map((s) => this.voiceState(s)!).filter(Boolean);
  }

  end(): void {
    this.state = 'ended';
  }

  durations(endedAt: Date): { duration: number; talkTime: number } {
    return callSeconds(this.startedAt, this.answeredAt, endedAt);
  }
}
