// Retell agents over Retell's custom telephony ("dial to SIP URI"): POST /v2/register-phone-call with the voice channel's
// API key gives a call_id, then the SIP gateway INVITEs sip:{call_id}@sip.retellai.com and the call is bridged to that leg.
// The agent call row (seed 004) follows the leg; Retell's call_ended webhook later adds its transcript (api/service-calls.ts).
import type { PartyInfo } from '@astral/protocol';
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { SecretBox } from '../auth/secret-box.js';
import { agentParty } from '../calls/agent-network.js';
import type { Call } from '../calls/call.js';
import type { CallControl } from '../calls/call-control.js';
import type { Journeys } from '../calls/journey.js';
import { callLog } from '../calls/log.js';
import type { OutboundTrunk, PhoneNetwork } from '../calls/phone-network.js';
import { dispositionOf, type RingOutcome } from '../calls/ringing.js';
import type { AgentCallStatus } from '../store/agent-calls.js';
import type { Agent } from '../store/agents.js';
import type { Store } from '../store/index.js';
import type { TrunkWithSecret } from '../store/trunks.js';
import type { SipTransport } from '../sip/types.js';
import { AppError } from '../util/errors.js';

/** Where Retell is (ASTRAL_RETELL_*): its REST API and its SIP server; tests point both at fakes. */
export interface RetellSettings {
  apiUrl: string;
  sip: { host: string; port: number; transport: SipTransport };
  /** How long register-phone-call may take. */
  timeoutMs: number;
}

export const RETELL_DEFAULTS: RetellSettings = {
  apiUrl: 'https://api.retellai.com',
  sip: { host: 'sip.retellai.com', port: 5060, transport: 'tcp' },
  timeoutMs: 10_000,
};

/** Retell takes PCMU, PCMA or G722; the call's widgets send G.711 to a Retell leg, as to any trunk. */
export const RETELL_CODEC = 'PCMU' as const;

/** What Retell's SIP leg rides on: the SIP gateway's ring of an ad-hoc target (no stored trunk). */
export interface RetellSipDialer {
  ringVia(call: Call, user: string, trunk: TrunkWithSecret, opts: { timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome>;
}

export interface RegisterPhoneCall {
  agent_id: string;
  from_number: string;
  to_number: string;
  direction: 'inbound' | 'outbound';
  metadata: Record<string, string>;
  retell_llm_dynamic_variables: Record<string, string>;
}

/** Why register-phone-call gave no call_id, in words fit for logs (never the key). */
export class RetellRegisterError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'RetellRegisterError';
  }
}

function refusal(status: number): string {
  if (status === 401 || status === 403) return `Retell refused the API key (${status})`;
  if (status === 404) return 'Retell knows no such agent_id (404)';
  if (status === 422 || status === 400) return `Retell refused the registration (${status})`;
  if (status === 429) return 'Retell rate-limited the registration (429)';
  return `Retell answered ${status}`;
}

/** POST {apiUrl}/v2/register-phone-call; resolves to Retell's call_id. */
export async function registerPhoneCall(settings: RetellSettings, apiKey: string, body: RegisterPhoneCall): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${settings.apiUrl.replace(/\/+$/, '')}/v2/register-phone-call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new RetellRegisterError(null, timedOut ? `Retell did not answer within ${settings.timeoutMs} ms` : `Retell is unreachable (${(err as Error).name})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new RetellRegisterError(res.status, refusal(res.status));
  }
  const answer = (await res.json().catch(() => null)) as { call_id?: unknown } | null;
  if (typeof answer?.call_id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(answer.call_id)) throw new RetellRegisterError(res.status, 'Retell answered without a usable call_id');
  return answer.call_id;
}

export interface RetellAgentsDeps {
  store: Store;
  calls: CallControl;
  ringTimeoutMs: number;
  journeys: Journeys;
  voiceSecrets: SecretBox;
  settings: RetellSettings;
  /** The SIP gateway; null with SIP off (ASTRAL_SIP_PORT=0). */
  sip: () => (RetellSipDialer & PhoneNetwork) | null;
  log: FastifyBaseLogger;
}

/** A Retell leg of a call: which agent, which way, and the seed 004 ids of its agent call row. */
export interface RetellLeg {
  agent: Agent;
  direction: 'inbound' | 'outbound';
  /** The other party's number: the caller (inbound) or the number the agent calls (outbound). */
  phone: string;
  serviceId: string;
}

export class RetellAgents {
  constructor(private readonly deps: RetellAgentsDeps) {}

  /** Whether the agent can take calls now (SIP on, an API key and an agent id); the error names what is missing. */
  async check(instanceId: string, agent: Agent): Promise<void> {
    if (!this.deps.sip()) throw new AppError('unavailable', `agent "${agent.key}" uses Retell, which is reached over SIP, and SIP is off (ASTRAL_SIP_PORT=0)`);
    await this.account(instanceId, agent);
  }

  /** A caller reached a Retell agent: its agent call row is stored, then Retell is rung. */
  async ringInbound(call: Call, agent: Agent, opts: { timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome> {
    const leg: RetellLeg = { agent, direction: 'inbound', phone: call.fromNumber, serviceId: randomUUID() };
    await this.deps.store.agentCalls.insert({
      callId: call.id,
      serviceId: leg.serviceId,
      instanceId: call.instanceId,
      agentKey: agent.key,
      phone: leg.phone,
      direction: 'inbound',
      status: 'ringing',
      providerCallId: pendingProviderId(),
      createdAt: new Date(),
    });
    return this.ring(call, leg, opts);
  }

  /** The agent calls out (seed 004's POST /v1/calls): the callee is rung first, and Retell joins once it answered. */
  async dial(agent: Agent, phone: string, callee: PartyInfo, trunk: OutboundTrunk | undefined): Promise<string> {
    const { calls, store, journeys, ringTimeoutMs } = this.deps;
    const call = calls.create({ instanceId: agent.instanceId, kind: 'direct', caller: agentParty(agent), callerSession: null, callee, channelId: null });
    call.codec = trunk?.codec ?? RETELL_CODEC;
    const leg: RetellLeg = { agent, direction: 'outbound', phone, serviceId: randomUUID() };
    await store.agentCalls.insert({
      callId: call.id,
      serviceId: leg.serviceId,
      instanceId: agent.instanceId,
      agentKey: agent.key,
      phone,
      direction: 'outbound',
      status: 'queued',
      providerCallId: pendingProviderId(),
      createdAt: call.startedAt,
    });
    await calls.persistStart(call, trunk ? null : callee.userId, 'outbound');
    const ringing = (async () => {
      this.setStatus(call, 'ringing');
      journeys.step(call, 'Dial', agent.key, phone, 'ringing');
      const sip = this.deps.sip();
      const outcome = trunk && sip ? await sip.ring(call, phone, { trunk, timeoutMs: ringTimeoutMs }) : await calls.ring(call, [callee], { timeoutMs: ringTimeoutMs });
      if (outcome.result !== 'answered') {
        this.setStatus(call, STATUS_OF[dispositionOf(outcome)]);
        return calls.endAfterRing(call, outcome);
      }
      calls.endAfterRing(call, await this.ring(call, leg, { timeoutMs: ringTimeoutMs }));
    })().catch((err: unknown) => {
      calls.end(call, 'FAILED', 'unavailable');
      throw err;
    });
    calls.detach(call, ringing);
    return leg.serviceId;
  }

  /**
   * Registers the call with Retell and rings sip:{call_id}@sip.retellai.com as one more leg of the call. The agent call
   * row (already stored) gets Retell's call_id, then the leg's status; a failed registration fails the ring.
   */
  async ring(call: Call, leg: RetellLeg, opts: { timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome> {
    const log = callLog(this.deps.log, call);
    const sip = this.deps.sip();
    let retellCallId: string;
    try {
      if (!sip) throw new AppError('unavailable', 'SIP is off');
      const { apiKey, agentId, ourNumber } = await this.account(call.instanceId, leg.agent);
      const [from, to] = leg.direction === 'inbound' ? [leg.phone, ourNumber ?? call.toNumber] : [ourNumber ?? call.fromNumber, leg.phone];
      retellCallId = await registerPhoneCall(this.deps.settings, apiKey, {
        agent_id: agentId,
        from_number: from,
        to_number: to,
        direction: leg.direction,
        metadata: { astral_call_id: call.id, astral_agent_call_id: leg.serviceId, astral_instance_id: call.instanceId, astral_agent: leg.agent.key },
        retell_llm_dynamic_variables: { caller_number: from, called_number: to, agent_name: leg.agent.name },
      });
    } catch (err) {
      const reason = (err as Error).message;
      log.error({ agent: leg.agent.key, status: err instanceof RetellRegisterError ? err.status : null, reason }, 'retell: the call could not be registered');
      this.deps.journeys.step(call, 'Agent', call.fromNumber, `agent:${leg.agent.key}`, `failed (${reason})`);
      this.setStatus(call, 'failed');
      return { result: 'failed', reason: 'unavailable' };
    }
    await this.deps.store.agentCalls.setProviderCallId(call.id, retellCallId);
    log.info({ agent: leg.agent.key, retellCallId }, 'retell: call registered; dialling its SIP URI');
    const outcome = await sip.ringVia(call, retellCallId, this.target(call.instanceId), opts);
    if (outcome.result !== 'answered') {
      this.setStatus(call, STATUS_OF[dispositionOf(outcome)]);
      return outcome;
    }
    this.deps.journeys.step(call, 'Agent', leg.phone, leg.agent.key, 'answered');
    this.setStatus(call, 'in-progress');
    call.cleanups.push(() => this.setStatus(call, 'completed'));
    return outcome;
  }

  /** The API key, the Retell agent id (the agent's own, else the channel's) and the instance's number. */
  private async account(instanceId: string, agent: Agent): Promise<{ apiKey: string; agentId: string; ourNumber: string | null }> {
    const { voiceChannels } = this.deps.store;
    const channel = await voiceChannels.get(instanceId);
    let apiKey: string | undefined;
    try {
      apiKey = (await voiceChannels.credentials(instanceId, this.deps.voiceSecrets)).api_key;
    } catch {
      throw new AppError('unavailable', 'the voice channel credentials no longer open (ASTRAL_SECRET_KEY changed): set the Retell api_key again');
    }
    if (!apiKey) throw new AppError('unavailable', `agent "${agent.key}" uses Retell: set the voice channel's api_key (Retell API key) first`);
    const agentId = agent.providerAgentId ?? channel?.agentId;
    if (!agentId) throw new AppError('unavailable', `agent "${agent.key}" uses Retell: give it a provider_agent_id or set the voice channel's agent_id`);
    return { apiKey, agentId, ourNumber: channel?.twilioPhoneNumber ?? channel?.phoneNumber ?? null };
  }

  /** Retell's SIP server as a trunk the gateway can INVITE: no credentials (the call_id is the authorisation). */
  private target(instanceId: string): TrunkWithSecret {
    const { host, port, transport } = this.deps.settings.sip;
    const epoch = new Date(0).toISOString();
    return {
      id: `retell:${instanceId}`,
      instanceId,
      name: 'retell',
      host,
      port,
      transport,
      username: null,
      password: null,
      hasPassword: false,
      realm: null,
      callerId: null,
      register: false,
      codecs: [RETELL_CODEC, 'PCMA'],
      allowedIps: [],
      isDefault: false,
      createdAt: epoch,
      updatedAt: epoch,
    };
  }

  private setStatus(call: Call, status: AgentCallStatus): void {
    this.deps.store.agentCalls.setStatus(call.id, status, new Date()).catch((err: unknown) => callLog(this.deps.log, call).error({ err }, 'retell: could not store the call status'));
  }
}

const STATUS_OF: Record<ReturnType<typeof dispositionOf>, AgentCallStatus> = { ANSWERED: 'completed', BUSY: 'busy', 'NO ANSWER': 'no-answer', FAILED: 'failed' };

/** The agent call row's provider id until Retell gives its call_id (unique, so a webhook never matches it). */
export const pendingProviderId = (): string => `pending-${randomUUID()}`;
