// Click-to-call (seed 002): ring `from` first; once it answers, ring `to`; both answered, they are bridged.
import type { ClickToCallBody, PartyInfo } from '@astral/protocol';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import type { CallControl } from './call-control.js';
import { agentDestination, agentParty } from './agent-network.js';
import { phoneParty, type OutboundTrunk } from './phone-network.js';
import { resolveDestination } from './directory.js';
import type { Router } from './routing.js';
import type { SessionRegistry } from './sessions.js';

export interface ClickToCallDeps {
  store: Store;
  calls: CallControl;
  router: Router;
  sessions: SessionRegistry;
  ringTimeoutMs: number;
  busyAnywhere?: BusyAnywhere;
}

/** Several nodes: whether a user is in a call on any node (their sessions' nodes answer; this node's calls included). */
export type BusyAnywhere = (userId: string) => Promise<boolean>;

const DEFAULT_FROM_TIMEOUT_S = 30;

/** Why an originate failed, worded as a PBX reports it ("Failed to originate call: ..."). */
export class OriginateError extends AppError {}

export class ClickToCall {
  constructor(private readonly deps: ClickToCallDeps) {}

  async originate(instanceId: string, body: ClickToCallBody): Promise<string> {
    const type = body.to_type ?? 'extension';
    const { store, calls, sessions } = this.deps;
    const from = await resolveDestination(store, instanceId, body.from);
    if (!from) throw new OriginateError('not_found', `no extension "${body.from}"`);
    let to: PartyInfo | undefined;
    let trunk: OutboundTrunk | undefined;
    if (type === 'external') {
      const trunkName = body.variables?.trunk;
      if (trunkName !== undefined && typeof trunkName !== 'string') throw new OriginateError('bad_request', 'variables.trunk must be a trunk name');
      if (!/^\+?[0-9]{3,20}$/.test(body.to)) throw new OriginateError('bad_request', 'to must be a phone number (digits, optionally after +) for an external destination');
      if (!this.deps.router.phone) throw new OriginateError('bad_request', 'external destinations need SIP trunks, and SIP is off (ASTRAL_SIP_PORT=0)');
      trunk = await this.deps.router.phone.trunkFor(instanceId, trunkName);
      if (!trunk) throw new OriginateError('not_found', trunkName ? `no SIP trunk "${trunkName}"` : 'no SIP trunk is configured');
      to = phoneParty(body.to);
    } else if (type === 'ai_agent') {
      const agent = await this.deps.router.agents?.find(instanceId, body.to).catch((err: Error) => {
        throw new OriginateError('bad_request', err.message);
      });
      if (!agent) throw new OriginateError('not_found', `no agent "${body.to}"`);
      to = agentParty(agent);
    } else if (type === 'queue' || type === 'ivr') {
      const target = type === 'queue' ? await store.routing.queue(instanceId, body.to) : await store.routing.ivr(instanceId, body.to);
      if (!target) throw new OriginateError('not_found', `no ${type} "${body.to}" is configured`);
      to = { userId: `route:${body.to}`, identity: body.to, displayName: target.name, extension: body.to };
    } else to = await resolveDestination(store, instanceId, body.to);
    if (!to) throw new OriginateError('not_found', `no extension "${body.to}"`);
    if (to.userId === from.userId) throw new OriginateError('bad_request', 'from and to are the same extension');
    const fromSessions = sessions.ofUser(from.userId);
    if (fromSessions.length === 0) throw new OriginateError('conflict', 'extension not registered');
    if ((await this.deps.busyAnywhere?.(from.userId)) || calls.callOfUser(from.userId)) throw new OriginateError('conflict', `extension ${body.from} is busy`);

    const call = calls.create({ instanceId, kind: 'direct', caller: from, callerSession: null, callee: to, channelId: null });
    const record = body.variables?.record;
    if (record === false || record === 'false' || record === 0 || record === '0') call.record = false;
    if (trunk) call.codec = trunk.codec;
    await calls.persistStart(call, type === 'extension' ? to.userId : null, trunk ? 'outbound' : 'internal');
    // What each phone shows: `from` sees who it is about to be connected to; `to` sees the caller id.
    const shownToFrom: PartyInfo = { ...to, displayName: `Click-to-call: ${to.displayName}` };
    const shownToTo: PartyInfo = body.caller_id ? { ...from, displayName: body.caller_id } : from;
    const fromTimeout = (body.timeout ?? DEFAULT_FROM_TIMEOUT_S) * 1000;
    const ringing = calls.ring(call, [from], { timeoutMs: fromTimeout, from: shownToFrom }).then(async (outcome) => {
      if (outcome.result !== 'answered') return calls.endAfterRing(call, outcome);
      if (trunk) {
        const external = this.deps.router.phone!.ring(call, body.to, { trunk, callerId: body.caller_id, timeoutMs: this.deps.ringTimeoutMs, from: shownToTo });
        return calls.endAfterRing(call, await external);
      }
      if (type === 'ai_agent') return this.deps.router.route(call, agentDestination(body.to));
      if (type !== 'extension') return this.deps.router.route(call, body.to);
      calls.endAfterRing(call, await calls.ring(call, [to], { timeoutMs: this.deps.ringTimeoutMs, from: shownToTo }));
    });
    calls.detach(call, ringing);
    return call.id;
  }
}
