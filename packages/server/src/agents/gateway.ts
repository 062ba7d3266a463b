// AgentGateway: AI agents as a transport into call control. Each agent leg is a session whose call events drive the agent
// runtime (the agent audio worker): an agent answers when rung, speaks once the call is answered, hangs up when it is done,
// and its conversation is stored turn by turn. Like the SIP gateway, it knows no HTTP and no mediasoup internals.
import type { Ack, Disposition, PartyInfo, ServerToClientEvents } from '@astral/protocol';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { AgentAudio, type AgentSpec, type TranscriptTurn } from '../audio/agent-audio.js';
import type { AgentNetwork } from '../calls/agent-network.js';
import type { Call } from '../calls/call.js';
import type { CallControl } from '../calls/call-control.js';
import type { Journeys } from '../calls/journey.js';
import { agentSessionId } from '../calls/legs.js';
import type { SessionNotifier } from '../calls/notifier.js';
import { dispositionOf, type RingOutcome } from '../calls/ringing.js';
import type { Session, SessionRegistry } from '../calls/sessions.js';
import type { MediaService } from '../media/service.js';
import type { AgentCallStatus } from '../store/agent-calls.js';
import type { Store } from '../store/index.js';
import { runsPipeline, type Agent } from '../store/agents.js';
import type { WebhookEvents } from '../webhooks/events.js';
import { callLog } from '../calls/log.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { Transfers } from '../calls/transfers.js';
import { selectVendors } from './vendors/select.js';
import { openAiKey } from './realtime/credentials.js';
import { realtimeUrl } from './realtime/session.js';
import { RETELL_CODEC, type RetellAgents } from './retell.js';

type Params<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

/** One agent leg: an agent's part in one call. */
export interface AgentLeg {
  session: Session;
  agent: Agent;
  direction: 'inbound' | 'outbound';
  /** The other party: the caller's number (inbound) or the number/extension the agent calls (outbound). */
  phone: string;
  callId: string | null;
  /** Seed 004's `call_id` (a UUID) and what a media-stream bot knows the call by (its `callSid`). */
  serviceId: string;
  providerCallId: string;
  /** The worker runs this leg's agent. */
  started: boolean;
  finished: boolean;
}

export interface AgentGatewayDeps {
  calls: CallControl;
  sessions: SessionRegistry;
  media: MediaService;
  store: Store;
  journeys: Journeys;
  /** Integrators' webhooks (`agent.turn`). */
  events: WebhookEvents;
  /** The agent's `transfer_call` tool. */
  transfers: Transfers;
  /** Opens the voice channel's vendor credentials (the pipeline's keys). */
  voiceSecrets: SecretBox;
  /** Retell agents: bridged over SIP, not run here. */
  retell: RetellAgents;
  log: FastifyBaseLogger;
}

/** How long an answered agent waits for the call's recorder before it speaks anyway. */
const RECORDER_WAIT_MS = 1000;

const STATUS_OF: Record<Disposition, AgentCallStatus> = { ANSWERED: 'completed', BUSY: 'busy', 'NO ANSWER': 'no-answer', FAILED: 'failed' };

/** Twilio-shaped ids (`CA…`, `MZ…`, `AC…`): bots written for Twilio Media Streams expect them. */
const twilioSid = (prefix: string, hex = randomBytes(16).toString('hex')): string => `${prefix}${hex}`;

export class AgentGateway implements SessionNotifier, AgentNetwork {
  private readonly legs = new Map<string, AgentLeg>();
  private audio: AgentAudio | null = null;

  constructor(private readonly deps: AgentGatewayDeps) {}

  // AgentNetwork: what call control asks of agents.

  /** The agent itself (call control sees it as an AgentRef and hands it back to `ring`). */
  async find(instanceId: string, key: string): Promise<Agent | undefined> {
    const agent = await this.deps.store.agents.byKey(instanceId, key);
    if (!agent) return undefined;
    if (agent.provider === 'retell') return this.deps.retell.check(instanceId, agent).then(() => ({ ...agent, codec: RETELL_CODEC }));
    if (agent.provider === 'openai-realtime') await openAiKey(this.deps.store.voiceChannels, this.deps.voiceSecrets, instanceId);
    return agent;
  }

  /** Someone calls the agent `find` returned: a new leg is rung like any party and answers at once. */
  async ring(call: Call, agent: Agent, opts: { timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome> {
    if (agent.provider === 'retell') return this.deps.retell.ringInbound(call, agent, opts);
    const leg = this.openLeg(agent, 'inbound', call.fromNumber);
    leg.callId = call.id;
    await this.deps.store.agentCalls.insert({
      callId: call.id,
      serviceId: leg.serviceId,
      instanceId: call.instanceId,
      agentKey: leg.agent.key,
      phone: leg.phone,
      direction: 'inbound',
      status: 'ringing',
      providerCallId: leg.providerCallId,
      createdAt: new Date(),
    });
    const outcome = await this.deps.calls.ring(call, [leg.session.principal.party], opts);
    if (outcome.result !== 'answered') this.finish(leg, dispositionOf(outcome));
    return outcome;
  }

  /** A new agent leg's session (registered, so the ringer finds it); one per call, so an agent takes many calls at once. */
  openLeg(agent: Agent, direction: AgentLeg['direction'], phone: string): AgentLeg {
    const legId = randomUUID();
    const party: PartyInfo = { userId: `agent:${legId}`, identity: `agent:${agent.key}`, displayName: agent.name, extension: null };
    const session: Session = { id: agentSessionId(agent.key, legId), principal: { kind: 'agent', instanceId: agent.instanceId, party }, dnd: false };
    const leg: AgentLeg = { session, agent, direction, phone, callId: null, serviceId: randomUUID(), providerCallId: twilioSid('CA'), started: false, finished: false };
    this.legs.set(session.id, leg);
    this.deps.sessions.add(session);
    return leg;
  }

  /** Gives the leg its media in the call's codec and starts its agent in the worker (a bot's WebSocket opens now). */
  async startAgent(leg: AgentLeg, call: Call): Promise<void> {
    leg.callId = call.id;
    const realtime = leg.agent.provider === 'openai-realtime'
      ? { url: realtimeUrl(leg.agent.baseUrls.openai, leg.agent.llmModel), apiKey: await openAiKey(this.deps.store.voiceChannels, this.deps.voiceSecrets, call.instanceId) }
      : undefined;
    const audio = this.startAudio();
    const link = await this.deps.media.openAgentLeg(leg.session.id, call.id, call.region, call.codec, audio);
    if (leg.finished) return;
    const spec: AgentSpec = {
      key: leg.agent.key,
      name: leg.agent.name,
      language: leg.agent.language,
      provider: leg.agent.provider === 'pipecat' || leg.agent.provider === 'openai-realtime' ? leg.agent.provider : 'local',
      url: leg.agent.url,
      greeting: leg.agent.greeting,
      prompt: leg.agent.prompt,
      voice: leg.agent.voice,
      llmModel: leg.agent.llmModel,
      ...(realtime ? { realtime } : {}),
    };
    const vendors = runsPipeline(spec) ? selectVendors(leg.agent, await this.credentials(call.instanceId)) : undefined;
    if (leg.finished) return;
    const [from, to] = leg.direction === 'inbound' ? [leg.phone, call.toNumber] : [call.fromNumber, leg.phone];
    const stream = {
      callSid: leg.providerCallId,
      streamSid: twilioSid('MZ'),
      accountSid: twilioSid('AC', call.instanceId.replace(/-/g, '')),
      customParameters: { from, to, agent: leg.agent.key, call_id: leg.serviceId },
    };
    audio.start(leg.session.id, { ...link, agent: spec, ...(vendors ? { vendors } : {}), stream });
    leg.started = true;
  }

  /** The instance's vendor keys (none when they no longer open: the pipeline falls back to the local engines). */
  private async credentials(instanceId: string): Promise<Awaited<ReturnType<Store['voiceChannels']['credentials']>>> {
    try {
      return await this.deps.store.voiceChannels.credentials(instanceId, this.deps.voiceSecrets);
    } catch (err) {
      this.deps.log.warn({ instanceId, err: (err as Error).name }, 'agent: the voice channel credentials do not open; using the local engines');
      return {};
    }
  }

  // SessionNotifier: call control's events for agent legs.

  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Params<E>): void {
    const leg = this.legs.get(sessionId);
    if (!leg) return;
    switch (event) {
      case 'call:answered':
        return this.talking(leg); // the agent called out and was answered
      case 'call:dtmf':
        for (const digit of (payload as Params<'call:dtmf'>).digits) this.audio?.dtmf(sessionId, digit);
        return;
      case 'call:ended':
        return this.finish(leg, (payload as Params<'call:ended'>).disposition);
      default:
        return; // ringback, mute, hold, recording states: nothing an agent acts on
    }
  }

  dispatch(): void {
    // Gateway dispatch events are for widgets and bots.
  }

  request<E extends 'media:consume' | 'call:incoming'>(sessionId: string, event: E, payload: Params<E>): Promise<Ack<Record<string, never>>> {
    const leg = this.legs.get(sessionId);
    if (!leg) return Promise.reject(new Error(`agent leg ${sessionId} is gone`));
    // An agent's consumers live on the server (its PlainTransport): nothing to wait for.
    if (event === 'media:consume') return Promise.resolve({ ok: true, data: {} });
    return this.pickUp(leg, (payload as Params<'call:incoming'>).callId);
  }

  /** The ringer alerts the agent: its media starts, it confirms it rings, and answers right after. */
  private async pickUp(leg: AgentLeg, callId: string): Promise<Ack<Record<string, never>>> {
    const call = this.deps.calls.get(callId);
    if (!call) return { ok: false, error: { code: 'not_found', message: 'the call ended' } };
    try {
      await this.startAgent(leg, call);
    } catch (err) {
      this.logOf(leg, callId).error({ err, agent: leg.agent.key }, 'agent: could not set up media');
      return { ok: false, error: { code: 'media_error', message: 'no media for the agent' } };
    }
    setImmediate(() => {
      if (leg.finished || call.role(leg.session.id) !== 'rung') return;
      try {
        this.deps.calls.answer(leg.session, callId);
        this.talking(leg);
      } catch (err) {
        this.logOf(leg, callId).warn({ err }, 'agent: the call could not be answered');
      }
    });
    return { ok: true, data: {} };
  }

  /** The call is answered with the agent in it: the agent starts speaking. */
  private talking(leg: AgentLeg): void {
    const call = leg.callId ? this.deps.calls.get(leg.callId) : undefined;
    if (!call || leg.finished) return;
    this.deps.journeys.step(call, 'Agent', leg.phone, leg.agent.key, 'answered');
    this.setStatus(leg, 'in-progress');
    // Its first words are in the recording: it speaks once the recorder hears it, or after a bounded wait if that is slow.
    const recorded = this.deps.calls.recordingStarted(call);
    void Promise.race([recorded, delay(RECORDER_WAIT_MS, undefined, { ref: false })]).then(() => {
      if (!leg.finished) this.audio?.answered(leg.session.id);
    });
  }

  /** The agent leg's part of the call is over: its final status is stored and the leg released. */
  private finish(leg: AgentLeg, disposition: Disposition): void {
    if (leg.finished) return;
    leg.finished = true;
    this.legs.delete(leg.session.id);
    this.deps.sessions.remove(leg.session.id);
    this.deps.media.closeSession(leg.session.id);
    this.setStatus(leg, STATUS_OF[disposition]);
  }

  private setStatus(leg: AgentLeg, status: AgentCallStatus): void {
    const callId = leg.callId;
    if (!callId) return;
    this.deps.store.agentCalls.setStatus(callId, status, new Date()).catch((err: unknown) => this.logOf(leg, callId).error({ err }, 'agent: could not store the call status'));
  }

  /** The agent ended the call (said goodbye, its bot closed the stream, or it failed). */
  private hangupByAgent(sessionId: string, reason: string): void {
    const leg = this.legs.get(sessionId);
    const call = leg?.callId ? this.deps.calls.get(leg.callId) : undefined;
    if (!leg || !call || !call.role(sessionId)) return;
    this.logOf(leg, call.id).info({ agent: leg.agent.key, reason }, 'agent: hung up');
    this.deps.journeys.step(call, 'Agent', leg.agent.key, leg.phone, `hangup (${reason})`);
    this.deps.calls.hangup(leg.session, call.id);
  }

  /** The agent's transfer tool: the other party goes on to `destination`, the agent leaves (a blind transfer). */
  private transferByAgent(sessionId: string, destination: string): void {
    const leg = this.legs.get(sessionId);
    const call = leg?.callId ? this.deps.calls.get(leg.callId) : undefined;
    if (!leg || !call) return;
    callLog(this.deps.log, call, sessionId).info({ agent: leg.agent.key, destination }, 'agent: transfers the call');
    this.deps.transfers.start(call, sessionId, destination, 'blind').catch((err: unknown) => {
      callLog(this.deps.log, call, sessionId).warn({ agent: leg.agent.key, destination, message: (err as Error).message }, 'agent: the transfer failed; hanging up');
      this.hangupByAgent(sessionId, 'transfer_failed');
    });
  }

  /** The agent's DTMF tool: its digits go to the other party, as a caller's would. */
  private dtmfByAgent(sessionId: string, digits: string): void {
    const leg = this.legs.get(sessionId);
    if (!leg?.callId) return;
    try {
      this.deps.calls.dtmf(leg.session, leg.callId, digits);
    } catch (err) {
      this.deps.log.warn({ leg: sessionId, message: (err as Error).message }, 'agent: could not send DTMF');
    }
  }

  private storeTurn(sessionId: string, turn: TranscriptTurn): void {
    const leg = this.legs.get(sessionId);
    if (!leg?.callId) return;
    const callId = leg.callId;
    const data = { call_id: callId, agent_call_id: leg.serviceId, agent: leg.agent.key, ...turn };
    this.deps.store.agentCalls
      .addTurn(callId, turn)
      .then(() => this.deps.events.publish(leg.session.principal.instanceId, 'agent.turn', data))
      .catch((err: unknown) => this.logOf(leg, callId).error({ err }, 'agent: could not store a turn'));
  }

  /** The logger for a leg's lines in a call: they carry the call id, the leg id (its session id) and the instance id. */
  private logOf(leg: AgentLeg, callId: string): FastifyBaseLogger {
    return callLog(this.deps.log, { id: callId, instanceId: leg.session.principal.instanceId }, leg.session.id);
  }

  /** The agent audio worker, started with the first agent leg; if it dies, its calls end and the next leg starts a new one. */
  private startAudio(): AgentAudio {
    if (this.audio) return this.audio;
    const audio = AgentAudio.start();
    audio.once('ready', (threadId: number | null) => this.deps.log.info({ threadId }, 'the agent audio worker is running'));
    audio.on('turn', (id: string, turn: TranscriptTurn) => this.storeTurn(id, turn));
    audio.on('hangup', (id: string, reason: string) => this.hangupByAgent(id, reason));
    audio.on('transfer', (id: string, destination: string) => this.transferByAgent(id, destination));
    audio.on('dtmf', (id: string, digits: string) => this.dtmfByAgent(id, digits));
    audio.on('error', (id: string, message: string) => {
      const leg = this.legs.get(id);
      (leg?.callId ? this.logOf(leg, leg.callId) : this.deps.log.child({ legId: id })).warn({ message }, 'agent: the agent failed');
      this.hangupByAgent(id, 'agent_error');
    });
    audio.once('exit', (err: Error) => {
      this.deps.log.error({ err }, 'the agent audio worker died; its calls end');
      if (this.audio === audio) this.audio = null;
      for (const leg of [...this.legs.values()]) if (leg.started) this.hangupByAgent(leg.session.id, 'agent_error');
    });
    this.audio = audio;
    return audio;
  }

  /** Packet counters of every agent leg (tests, benchmarks). */
  stats(): ReturnType<AgentAudio['stats']> {
    return this.audio ? this.audio.stats() : Promise.resolve({});
  }

  async close(): Promise<void> {
    await this.audio?.terminate();
    this.audio = null;
  }
}
