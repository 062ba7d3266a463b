// Routing: where a dialled number goes — a user, a queue (ring-all, round-robin, longest-idle, overflow), an IVR menu,
// an AI agent (`agent:<key>`) or a phone number.
import type { PartyInfo } from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { readFileSync } from 'node:fs';
import type { MediaService } from '../media/service.js';
import type { PromptCodec } from '../media/player.js';
import { encodeWavToG711Frames, encodeWavToOpusFrames } from '../recording/encode.js';
import type { Store } from '../store/index.js';
import type { IvrMenu, Queue } from '../store/routing.js';
import type { Call } from './call.js';
import type { CallControl } from './call-control.js';
import { agentKeyOf, agentParty, type AgentNetwork, type AgentRef } from './agent-network.js';
import { resolveDestination } from './directory.js';
import { callLog } from './log.js';
import { looksLikePhoneNumber, phoneParty, type PhoneNetwork } from './phone-network.js';
import type { RingOutcome } from './ringing.js';
import type { Journeys } from './journey.js';
import type { SessionNotifier } from './notifier.js';
import { partyOf, type Session, type SessionRegistry } from './sessions.js';
import { AppError } from '../util/errors.js';

export interface RouterDeps {
  store: Store;
  calls: CallControl;
  sessions: SessionRegistry;
  media: MediaService;
  notifier: SessionNotifier;
  journeys: Journeys;
  ringTimeoutMs: number;
  log: FastifyBaseLogger;
}

const PROMPT_GAP_MS = 1500;

export class Router {
  /** Round-robin position per queue: the index of the member tried last. */
  private readonly lastTried = new Map<string, number>();
  /** Encoded prompts by `codec:path`. */
  private readonly prompts = new Map<string, Buffer[]>();
  /** SIP trunks, when the server has SIP on: numbers no user, queue or IVR answers to go out there. */
  phone: PhoneNetwork | null = null;
  /** AI agents: `agent:<key>` destinations ring them. */
  agents: AgentNetwork | null = null;

  constructor(private readonly deps: RouterDeps) {}

  /** A widget dials: a user (rung directly), a queue, an IVR menu or a phone number (through the default trunk). */
  async dial(session: Session, destination: string): Promise<{ callId: string; to: PartyInfo; codec?: 'PCMU' | 'PCMA' }> {
    const { store, calls, journeys } = this.deps;
    const caller = partyOf(session);
    const instanceId = session.principal.instanceId;
    if (calls.callOfUser(caller.userId)) throw new AppError('invalid_state', 'you are already in a call');
    if (agentKeyOf(destination)) return this.dialRouted(session, destination);
    const callee = await resolveDestination(store, instanceId, destination);
    if (!callee) return this.dialRouted(session, destination);
    if (callee.userId === caller.userId) throw new AppError('bad_request', 'you cannot call yourself');
    // The lookup awaited: the caller may have started another call meanwhile.
    if (calls.callOfUser(caller.userId)) throw new AppError('invalid_state', 'you are already in a call');
    const busy = calls.callOfUser(callee.userId) !== undefined;
    const call = this.startCall(session, callee);
    if (await store.users.recordingOff([caller.userId, callee.userId])) call.record = false;
    await calls.persistStart(call, callee.userId);
    // The caller may have hung up or dropped while the call was stored: then nobody is rung.
    if (call.state === 'ended') return { callId: call.id, to: callee };
    journeys.step(call, 'Dial', call.fromNumber, call.toNumber, busy ? 'busy' : 'ringing');
    // The ring settles after the dial is acknowledged, as a PBX answers INVITE with 100 before 180 or 486.
    calls.detach(call, calls.ring(call, [callee], { timeoutMs: this.deps.ringTimeoutMs }).then((outcome) => calls.endAfterRing(call, outcome)));
    return { callId: call.id, to: callee };
  }

  /** A queue, IVR number or agent: the call is created and answered by the dial ack, then rung or played. */
  private async dialRouted(session: Session, destination: string): Promise<{ callId: string; to: PartyInfo; codec?: 'PCMU' | 'PCMA' }> {
    const { routing } = this.deps.store;
    const instanceId = session.principal.instanceId;
    const agentKey = agentKeyOf(destination);
    if (agentKey) return this.dialAgent(session, agentKey);
    const queue = await routing.queue(instanceId, destination);
    const menu = queue ? undefined : await routing.ivr(instanceId, destination);
    if (!queue && !menu) return this.dialPhone(session, destination);
    const to: PartyInfo = { userId: `route:${destination}`, identity: destination, displayName: (queue ?? menu)!.name, extension: destination };
    const call = this.startCall(session, to);
    await this.deps.calls.persistStart(call, null);
    // Answer the dial first (its ack carries the call id the widget needs), then ring or play.
    setImmediate(() => this.deps.calls.detach(call, queue ? this.runQueue(call, queue) : this.runIvr(call, menu!)));
    return { callId: call.id, to };
  }

  /** An AI agent (`agent:<key>`): rung like a user, it answers at once. */
  private async dialAgent(session: Session, key: string): Promise<{ callId: string; to: PartyInfo; codec?: 'PCMU' | 'PCMA' }> {
    const agent = await this.findAgent(session.principal.instanceId, key);
    const to = agentParty(agent);
    const call = this.startCall(session, to);
    if (agent.codec) call.codec = agent.codec;
    await this.deps.calls.persistStart(call, null);
    setImmediate(() => this.deps.calls.detach(call, this.ringAgent(call, agent)));
    return { callId: call.id, to, ...(agent.codec ? { codec: agent.codec } : {}) };
  }

  private async findAgent(instanceId: string, key: string): Promise<AgentRef> {
    const agent = await this.agents?.find(instanceId, key);
    if (!agent) throw new AppError('not_found', `no agent "${key}"`);
    return agent;
  }

  private async ringAgent(call: Call, agent: AgentRef): Promise<void> {
    this.deps.journeys.step(call, 'Dial', call.fromNumber, `agent:${agent.key}`, 'ringing');
    const from = [...call.joined.values()][0]?.party ?? call.caller;
    this.deps.calls.endAfterRing(call, await this.agents!.ring(call, agent, { timeoutMs: this.deps.ringTimeoutMs, from }));
  }

  /** A phone number, out through the instance's default trunk: the widget sends G.711, the trunk leg rings like any other. */
  private async dialPhone(session: Session, destination: string): Promise<{ callId: string; to: PartyInfo; codec: 'PCMU' | 'PCMA' }> {
    const { store, calls, journeys } = this.deps;
    const instanceId = session.principal.instanceId;
    const phoneLike = looksLikePhoneNumber(destination, await store.users.longestExtension(instanceId));
    const trunk = phoneLike ? await this.phone?.trunkFor(instanceId) : undefined;
    if (!phoneLike) throw new AppError('not_found', `no user or extension "${destination}"`);
    if (!trunk) throw new AppError('not_found', `no SIP trunk to reach ${destination}`);
    if (calls.callOfUser(session.principal.party.userId)) throw new AppError('invalid_state', 'you are already in a call');
    const call = this.startCall(session, phoneParty(destination));
    call.codec = trunk.codec;
    await calls.persistStart(call, null, 'outbound');
    journeys.step(call, 'Dial', call.fromNumber, destination, 'ringing');
    calls.detach(call, this.phone!.ring(call, destination, { trunk, timeoutMs: this.deps.ringTimeoutMs }).then((outcome) => calls.endAfterRing(call, outcome)));
    return { callId: call.id, to: call.callee!, codec: trunk.codec };
  }

  /** A direct call with the dialling session (a widget, or a carrier's caller) already in it. */
  startCall(session: Session, callee: PartyInfo): Call {
    const caller = partyOf(session);
    const call = this.deps.calls.create({ instanceId: session.principal.instanceId, kind: 'direct', caller, callerSession: session.id, callee, channelId: null });
    call.join(session.id, caller, call.startedAt);
    this.deps.calls.legs.open(call.id, session.id, caller, call.startedAt);
    return call;
  }

  /** Sends the call on to a destination: a user, a queue, an IVR menu or an agent; ends it when there is none. */
  async route(call: Call, destination: string): Promise<void> {
    if (call.state === 'ended') return;
    const { routing } = this.deps.store;
    const agentKey = agentKeyOf(destination);
    const agent = agentKey ? await this.agents?.find(call.instanceId, agentKey).catch(() => undefined) : undefined;
    if (agent) return this.ringAgent(call, agent);
    const user = await resolveDestination(this.deps.store, call.instanceId, destination);
    if (user) {
      this.deps.journeys.step(call, 'Dial', call.fromNumber, destination, 'ringing');
      const outcome = await this.offer(call, [user], this.deps.ringTimeoutMs);
      return this.deps.calls.endAfterRing(call, outcome);
    }
    const queue = await routing.queue(call.instanceId, destination);
    if (queue) return this.runQueue(call, queue);
    const menu = await routing.ivr(call.instanceId, destination);
    if (menu) return this.runIvr(call, menu);
    this.deps.calls.end(call, call.answeredAt ? 'ANSWERED' : 'FAILED', 'unavailable');
  }

  private async runQueue(call: Call, queue: Queue): Promise<void> {
    if (!queue.record) call.record = false;
    this.deps.journeys.step(call, 'Queue', call.fromNumber, queue.number, 'queued');
    const members = await this.availableMembers(call, queue);
    const timeout = queue.ringTimeout * 1000;
    let answered = false;
    if (queue.strategy === 'ring-all') answered = members.length > 0 && (await this.offer(call, members, timeout)).result === 'answered';
    else {
      for (const member of this.order(queue, members)) {
        if (call.state === 'ended') return;
        this.lastTried.set(queue.id, queue.members.indexOf(member.extension ?? ''));
        if ((await this.offer(call, [member], timeout)).result === 'answered') {
          answered = true;
          break;
        }
      }
    }
    if (answered || call.state === 'ended') return;
    if (queue.overflow) {
      this.deps.journeys.step(call, 'Overflow', queue.number, queue.overflow, 'overflow');
      return this.route(call, queue.overflow);
    }
    // Nobody in the queue answered in time (a member's decline moves on to the next, as ACD queues do).
    this.deps.calls.endAfterRing(call, { result: 'no-answer', reason: 'timeout' });
  }

  /** Members to try, in strategy order: round-robin continues after the last tried; longest-idle first. */
  private order(queue: Queue, members: PartyInfo[]): PartyInfo[] {
    if (queue.strategy === 'longest-idle') {
      const idle = (p: PartyInfo) => this.deps.calls.lastCallEnded.get(p.userId) ?? 0;
      return [...members].sort((a, b) => idle(a) - idle(b));
    }
    const all = queue.members;
    const start = ((this.lastTried.get(queue.id) ?? -1) + 1) % Math.max(1, all.length);
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    return rotated.map((ext) => members.find((m) => m.extension === ext)).filter((m): m is PartyInfo => m !== undefined);
  }

  private async availableMembers(call: Call, queue: Queue): Promise<PartyInfo[]> {
    const found = await Promise.all(queue.members.map((ext) => resolveDestination(this.deps.store, call.instanceId, ext)));
    return found.filter((p): p is PartyInfo => !!p && this.deps.sessions.ofUser(p.userId).length > 0 && !this.deps.calls.callOfUser(p.userId));
  }

  /** Rings users for the call as the next step of its routing; the one who answers is shown to the caller. */
  private async offer(call: Call, parties: PartyInfo[], timeoutMs: number): Promise<RingOutcome> {
    const { calls, notifier } = this.deps;
    const from = [...call.joined.values()][0]?.party ?? call.caller;
    const outcome = await calls.ring(call, parties, { timeoutMs, from });
    if (outcome.result === 'answered' && outcome.sessionId && outcome.party) {
      for (const peer of call.peersOf(outcome.sessionId)) notifier.notify(peer, 'call:remote-changed', { callId: call.id, remote: outcome.party });
    }
    return outcome;
  }

  /** The IVR answers, plays its prompt until a digit chooses a destination. */
  private async runIvr(call: Call, menu: IvrMenu): Promise<void> {
    const { calls, media, notifier, journeys } = this.deps;
    const at = new Date();
    if (!call.answeredAt) {
      call.answeredAt = at;
      call.state = 'answered';
      for (const sessionId of call.joined.keys()) notifier.notify(sessionId, 'call:answered', { callId: call.id, answeredAt: at.toISOString() });
      await call.stored.then(() => this.deps.store.calls.markAnswered(call.id, at));
    }
    journeys.step(call, 'IVR', call.fromNumber, menu.number, 'answered');
    // A call with a carrier on it hears the prompt in its G.711, encoded once per menu, never per call.
    const codec: PromptCodec = call.codec;
    const key = `${codec}:${menu.promptPath}`;
    let frames = this.prompts.get(key);
    if (!frames) {
      const wav = readFileSync(menu.promptPath);
      frames = codec === 'opus' ? encodeWavToOpusFrames(wav) : encodeWavToG711Frames(wav, codec);
      this.prompts.set(key, frames);
    }
    const player = await media.play(call.region, frames, PROMPT_GAP_MS, codec);
    const stop = () => {
      player.stop();
      call.serverProducers.delete(player.producerId);
    };
    if (call.state === 'ended') return stop();
    call.serverProducers.add(player.producerId);
    player.onMoved = (previous, err) => {
      call.serverProducers.delete(previous);
      if (err) return callLog(this.deps.log, call).error({ err }, 'the IVR prompt stopped: it could not be moved off its dead media worker');
      call.serverProducers.add(player.producerId);
      calls.syncMedia(call);
    };
    call.cleanups.push(stop);
    calls.syncMedia(call);
    call.onDtmf = (digits) => {
      const digit = digits[0]!;
      const destination = menu.options[digit];
      if (!destination) return journeys.step(call, 'IVR', call.fromNumber, menu.number, `invalid choice ${digit}`);
      call.onDtmf = null;
      stop();
      journeys.step(call, 'IVR', call.fromNumber, destination, `choice ${digit}`);
      calls.detach(call, this.route(call, destination));
    };
  }
}
