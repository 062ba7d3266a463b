// ChannelCalls: a channel's one call — ring/stop-ringing, join/leave by voice state, region choice and moves — and its gateway events.
import type { ClientPayload, GatewayDispatch, RtcRegion } from '@astral/protocol';
import type { Principal } from '../auth/principal.js';
import type { MediaService } from '../media/service.js';
import type { Channel } from '../store/channels.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import type { Call } from './call.js';
import type { CallControl, CallListener } from './call-control.js';
import type { SessionNotifier } from './notifier.js';
import type { RingOutcome } from './ringing.js';
import type { Session, SessionRegistry } from './sessions.js';

/** Round-trip times a widget measured: region id → ms. */
export type RegionRtts = Record<string, number>;

/** Where users' measured latencies are kept: this process (one node) or shared by every node. */
export interface LatencyBook {
  set(instanceId: string, userId: string, rtts: RegionRtts): Promise<void>;
  get(instanceId: string, userId: string): Promise<RegionRtts | undefined>;
}

/** One node's latencies, in memory. */
export class LocalLatencies implements LatencyBook {
  private readonly byUser = new Map<string, RegionRtts>();

  async set(instanceId: string, userId: string, rtts: RegionRtts): Promise<void> {
    this.byUser.set(`${instanceId}:${userId}`, rtts);
  }

  async get(instanceId: string, userId: string): Promise<RegionRtts | undefined> {
    return this.byUser.get(`${instanceId}:${userId}`);
  }
}

export interface ChannelCallsDeps {
  store: Store;
  calls: CallControl;
  sessions: SessionRegistry;
  notifier: SessionNotifier;
  media: MediaService;
  ringTimeoutMs: number;
  /** Users' measured region latencies (`voice:latency`). */
  latencies: LatencyBook;
  /** Several nodes: a channel's call runs on one node, which claims it before starting it and releases it at its end. */
  owner?: { claim(instanceId: string, channelId: string): Promise<boolean>; release(instanceId: string, channelId: string): void };
}

/** Several nodes: another node claimed the channel's call first (two members started it at once); join it there. */
export class ChannelCallElsewhere extends AppError {
  constructor() {
    super('conflict', "this channel's call runs on another node; try again");
  }
}

export class ChannelCalls implements CallListener {
  /** channel id → its live call id */
  private readonly active = new Map<string, string>();
  /** Recipients per channel with a live call, for fanning out gateway events without a query. */
  private readonly audience = new Map<string, string[]>();
  /** Channel calls being claimed (several nodes): a second join meanwhile waits for the same call. */
  private readonly starting = new Map<string, Promise<Call>>();

  constructor(private readonly deps: ChannelCallsDeps) {
    deps.calls.listener = this;
  }

  regions(): RtcRegion[] {
    return this.deps.media.regions.map(({ id, name, emoji }) => ({ id, name, emoji }));
  }

  /** The channel, if it exists in the principal's instance (404) and the principal is a member (403). */
  async channelFor(principal: Principal, channelId: string): Promise<Channel> {
    const channel = await this.deps.store.channels.get(principal.instanceId, channelId);
    if (!channel) throw new AppError('not_found', `no channel ${channelId}`);
    if (!channel.recipients.includes(principal.party.userId)) throw new AppError('forbidden', 'you are not a member of this channel');
    return channel;
  }

  callOf(channelId: string): Call | undefined {
    const id = this.active.get(channelId);
    return id ? this.deps.calls.get(id) : undefined;
  }

  /** Users (not bots) of the channel, other than `exceptId`, with a widget connected and in no call (this one included). */
  private ringableUsers(channel: Channel, exceptId: string): string[] {
    const { sessions, calls } = this.deps;
    return channel.recipients.filter((id) => {
      if (id === exceptId) return false;
      const open = sessions.ofUser(id).map((s) => sessions.get(s)!);
      return open.length > 0 && open.every((s) => s.principal.kind === 'user') && !calls.callOfUser(id);
    });
  }

  eligibility(principal: Principal, channel: Channel): { ringable: boolean; silent: boolean } {
    const users = this.ringableUsers(channel, principal.party.userId);
    return { ringable: users.length > 0, silent: users.length > 0 && users.every((u) => this.deps.sessions.isDnd(u)) };
  }

  async ring(principal: Principal, channel: Channel, recipients?: string[]): Promise<void> {
    this.assertRecipients(channel, recipients);
    const targets = (recipients ?? channel.recipients).filter((id) => id !== principal.party.userId);
    const call = await this.callOrStart(channel, principal.party, null);
    const ringable = new Set(this.ringableUsers(channel, principal.party.userId));
    let rang = false;
    for (const userId of targets) {
      if (!ringable.has(userId)) continue;
      const party = this.deps.sessions.get(this.deps.sessions.ofUser(userId)[0]!)!.principal.party;
      // Each recipient rings on its own timer; whatever the outcome, the channel call goes on while anyone is in it.
      this.deps.calls.detach(call, this.deps.calls.ring(call, [party], { timeoutMs: this.deps.ringTimeoutMs }).then((outcome) => this.ringSettled(call, outcome)));
      rang = true;
    }
    if (call.abandoned) this.deps.calls.end(call, 'NO ANSWER', 'unavailable');
    else if (rang) this.ringingChanged(call);
  }

  private ringSettled(call: Call, outcome: RingOutcome): void {
    if (outcome.result === 'answered' || call.state === 'ended') return;
    if (call.abandoned) this.deps.calls.end(call, 'NO ANSWER', outcome.reason === 'timeout' ? 'timeout' : 'cancelled');
    else this.ringingChanged(call);
  }

  async stopRinging(principal: Principal, channel: Channel, recipients?: string[]): Promise<void> {
    this.assertRecipients(channel, recipients);
    const call = this.callOf(channel.id);
    if (!call) return;
    this.deps.calls.stopRinging(call, recipients ?? [principal.party.userId]);
  }

  async setRegion(channel: Channel, region: string | null): Promise<void> {
    if (region !== null && !this.deps.media.region(region)) {
      throw new AppError('bad_request', `unknown region "${region}"; known: ${this.regions().map((r) => r.id).join(', ')}`);
    }
    await this.deps.store.channels.setRegion(channel.id, region);
    const call = this.callOf(channel.id);
    if (call && region && region !== call.region) this.move(call, region);
  }

  /** Moves a running call: each participant's transports are rebuilt in the new region; nobody re-dials. */
  private move(call: Call, region: string): void {
    call.region = region;
    for (const sessionId of call.joined.keys()) this.placeSession(call, sessionId);
    this.dispatch(call.channelId!, 'VOICE_SERVER_UPDATE', { channel_id: call.channelId!, region, endpoint: this.endpoint(region) });
    this.ringingChanged(call);
  }

  /** Puts a joined session's media in the call's region (media tells its widget to rebuild when it moved). */
  private placeSession(call: Call, sessionId: string): void {
    this.deps.media.relocate(sessionId, call.region);
  }

  async voiceState(session: Session, payload: ClientPayload<'voice:state'>): Promise<{ callId: string | null }> {
    const { calls } = this.deps;
    const current = [...this.active.values()].map((id) => calls.get(id)).find((c) => c?.role(session.id) === 'joined');
    if (payload.channel_id === null) {
      if (current) calls.leave(current, session.id);
      return { callId: null };
    }
    const channel = await this.channelFor(session.principal, payload.channel_id);
    if (current && current.channelId !== channel.id) throw new AppError('invalid_state', 'leave your current call first');
    const other = calls.callOfUser(session.principal.party.userId);
    if (other && other.channelId !== channel.id) throw new AppError('invalid_state', 'you are already in a call');
    const call = await this.callOrStart(channel, session.principal.party, session.id);
    if (call.role(session.id) !== 'joined') calls.join(call, session);
    const participant = call.joined.get(session.id)!;
    if (payload.self_mute !== undefined && payload.self_mute !== participant.selfMute) await calls.mute(session, call.id, payload.self_mute);
    if (payload.self_deaf !== undefined && payload.self_deaf !== participant.selfDeaf) {
      participant.selfDeaf = payload.self_deaf;
      await this.deps.media.setConsumersPaused(session.id, call.id, payload.self_deaf || participant.held);
      this.joined(call, session.id);
    }
    return { callId: call.id };
  }

  /** Keeps what the session's widget measured (stored when this resolves). */
  setLatency(session: Session, rtts: RegionRtts): Promise<void> {
    return this.deps.latencies.set(session.principal.instanceId, session.principal.party.userId, rtts);
  }

  /** The channel's fixed region, else the caller's fastest measured region, else the default. */
  private async pickRegion(channel: Channel, callerId: string): Promise<string> {
    if (channel.rtcRegion) return channel.rtcRegion;
    const rtts = await this.deps.latencies.get(channel.instanceId, callerId);
    const known = this.deps.media.regions.filter((r) => typeof rtts?.[r.id] === 'number');
    if (known.length === 0) return this.deps.media.defaultRegion;
    return known.reduce((best, r) => (rtts![r.id]! < rtts![best.id]! ? r : best)).id;
  }

  /** The channel's live call, else a new one in the region picked for the caller. */
  private callOrStart(channel: Channel, caller: Call['caller'], callerSession: string | null): Promise<Call> {
    const live = this.callOf(channel.id) ?? this.starting.get(channel.id);
    if (live) return Promise.resolve(live);
    const started = this.pickRegion(channel, caller.userId)
      .then((region) => this.start(channel, caller, callerSession, region))
      .finally(() => this.starting.delete(channel.id));
    this.starting.set(channel.id, started);
    return started;
  }

  private async start(channel: Channel, caller: Call['caller'], callerSession: string | null, region: string): Promise<Call> {
    const { owner } = this.deps;
    if (owner && !(await owner.claim(channel.instanceId, channel.id))) {
      throw new ChannelCallElsewhere();
    }
    let call: Call;
    try {
      call = this.deps.calls.create({ instanceId: channel.instanceId, kind: 'channel', caller, callerSession, callee: null, channelId: channel.id, region });
    } catch (err) {
      owner?.release(channel.instanceId, channel.id);
      throw err;
    }
    this.active.set(channel.id, call.id);
    this.audience.set(channel.id, channel.recipients);
    await this.deps.calls.persistStart(call, null);
    this.dispatch(channel.id, 'CALL_CREATE', { channel_id: channel.id, region, ringing: [], voice_states: [] });
    return call;
  }

  private assertRecipients(channel: Channel, recipients?: string[]): void {
    const stranger = recipients?.find((id) => !channel.recipients.includes(id));
    if (stranger) throw new AppError('bad_request', `recipient ${stranger} is not in the channel`);
  }

  private endpoint(region: string): string {
    return this.deps.media.region(region)?.endpoint ?? '';
  }

  private dispatch<E extends keyof GatewayDispatch>(channelId: string, event: E, payload: GatewayDispatch[E]): void {
    this.deps.notifier.dispatch(this.audience.get(channelId) ?? [], event, payload);
  }

  // CallListener: publish channel call changes to the channel's recipients.
  joined(call: Call, sessionId: string): void {
    const state = call.voiceState(sessionId);
    if (!state) return;
    this.placeSession(call, sessionId);
    this.dispatch(call.channelId!, 'VOICE_STATE_UPDATE', state);
  }

  left(call: Call, sessionId: string, userId: string): void {
    if (!call.channelId) return;
    this.dispatch(call.channelId, 'VOICE_STATE_UPDATE', { channel_id: null, user_id: userId, session_id: sessionId, self_mute: false, self_deaf: false });
  }

  /** CALL_UPDATE: the call's ringing list or region changed. */
  ringingChanged(call: Call): void {
    if (!call.channelId) return;
    this.dispatch(call.channelId, 'CALL_UPDATE', { channel_id: call.channelId, region: call.region, ringing: call.ringingUserIds });
  }

  ended(call: Call): void {
    if (!call.channelId || this.active.get(call.channelId) !== call.id) return;
    this.dispatch(call.channelId, 'CALL_DELETE', { channel_id: call.channelId });
    this.active.delete(call.channelId);
    this.audience.delete(call.channelId);
    this.deps.owner?.release(call.instanceId, call.channelId);
  }
}
