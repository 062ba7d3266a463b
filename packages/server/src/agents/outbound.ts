// Agent calls out (seed 004's POST /v1/calls): the agent's leg is the caller; a phone number rings through the instance's
// default trunk, an extension or identity rings that widget user; the agent speaks once the callee answers.
import type { PartyInfo } from '@astral/protocol';
import type { CallControl } from '../calls/call-control.js';
import { resolveDestination } from '../calls/directory.js';
import type { Journeys } from '../calls/journey.js';
import { phoneParty, type OutboundTrunk } from '../calls/phone-network.js';
import type { Router } from '../calls/routing.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import type { AgentGateway } from './gateway.js';
import type { RetellAgents } from './retell.js';

export interface AgentDialerDeps {
  store: Store;
  calls: CallControl;
  router: Router;
  agents: AgentGateway;
  /** Retell agents call out over SIP (agents/retell.ts). */
  retell: RetellAgents;
  journeys: Journeys;
  ringTimeoutMs: number;
}

/** Why a service call cannot be placed, naming the field at fault (the API reports it as FastAPI would). */
export class DialError extends AppError {
  constructor(
    readonly field: 'phone' | 'agent',
    message: string,
  ) {
    super('bad_request', message);
  }
}

const PHONE_NUMBER = /^\+?[0-9]{7,15}$/;

export class AgentDialer {
  constructor(private readonly deps: AgentDialerDeps) {}

  /** Places the call and returns seed 004's `call_id` at once; ringing and talking go on in the background. */
  async dial(instanceId: string, phone: string, agentKey: string): Promise<string> {
    const { store, calls, router, agents, journeys } = this.deps;
    calls.refuseWhileDraining();
    let agent;
    try {
      agent = await agents.find(instanceId, agentKey);
    } catch (err) {
      throw new DialError('agent', (err as Error).message);
    }
    if (!agent) throw new DialError('agent', `unknown agent "${agentKey}"`);
    const { callee, trunk } = await this.calleeOf(instanceId, phone);
    if (agent.provider === 'retell') return this.deps.retell.dial(agent, phone, callee, trunk);

    const leg = agents.openLeg(agent, 'outbound', phone);
    const call = router.startCall(leg.session, callee);
    if (trunk) call.codec = trunk.codec;
    await store.agentCalls.insert({
      callId: call.id,
      serviceId: leg.serviceId,
      instanceId,
      agentKey: agent.key,
      phone,
      direction: 'outbound',
      status: 'queued',
      providerCallId: leg.providerCallId,
      createdAt: call.startedAt,
    });
    await calls.persistStart(call, trunk ? null : callee.userId, 'outbound');
    const ringing = (async () => {
      await agents.startAgent(leg, call);
      if (call.state === 'ended') return;
      await store.agentCalls.setStatus(call.id, 'ringing', new Date());
      journeys.step(call, 'Dial', agent.key, phone, 'ringing');
      const outcome = trunk
        ? await router.phone!.ring(call, phone, { trunk, timeoutMs: this.deps.ringTimeoutMs })
        : await calls.ring(call, [callee], { timeoutMs: this.deps.ringTimeoutMs });
      calls.endAfterRing(call, outcome);
    })().catch((err: unknown) => {
      calls.end(call, 'FAILED', 'unavailable');
      throw err;
    });
    calls.detach(call, ringing);
    return leg.serviceId;
  }

  /** A phone number goes out through the default trunk; anything else must be an extension or identity of the instance. */
  private async calleeOf(instanceId: string, phone: string): Promise<{ callee: PartyInfo; trunk?: OutboundTrunk }> {
    const user = await resolveDestination(this.deps.store, instanceId, phone);
    if (user) return { callee: user };
    if (!PHONE_NUMBER.test(phone)) throw new DialError('phone', `"${phone}" is neither a phone number (E.164) nor an extension or identity of this instance`);
    const trunk = await this.deps.router.phone?.trunkFor(instanceId);
    if (!trunk) throw new DialError('phone', 'phone numbers need a default SIP trunk, and this instance has none');
    return { callee: phoneParty(phone), trunk };
  }
}
