// Click-to-call (seed 002): ring `from` first; once it answers, ring `to`; both answered, they are bridged.
import type { ClickToCallBody, PartyInfo } from '@astral/protocol';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import type { CallControl } from './call-control.js';
import { dispositionOf } from './ringing.js';
import { resolveDestination } from './directory.js';
import type { Router } from './routing.js';
import type { SessionRegistry } from './sessions.js';

export interface ClickToCallDeps {
  store: Store;
  calls: CallControl;
  router: Router;
  sessions: SessionRegistry;
  ringTimeoutMs: number;
}

const DEFAULT_FROM_TIMEOUT_S = 30;

/** Why an originate failed, worded as a PBX reports it ("Failed to originate call: ..."). */
export class OriginateError extends AppError {}

export class ClickToCall {
  constructor(private readonly deps: ClickToCallDeps) {}

  async originate(instanceId: string, body: ClickToCallBody): Promise<string> {
    const type = body.to_type ?? 'extension';
    if (type === 'ai_agent') throw new OriginateError('bad_request', 'ai_agent destinations are not available yet');
    if (type === 'external') throw new OriginateError('bad_request', 'external destinations need a SIP trunk, and none is configured');
    const { store, calls, sessions } = this.deps;
    const from = await resolveDestination(store, instanceId, body.from);
    if (!from) throw new OriginateError('not_found', `no extension "${body.from}"`);
    let to: PartyInfo | undefined;
    if (type === 'queue' || type === 'ivr') {
      const target = type === 'queue' ? await store.routing.queue(instanceId, body.to) : await store.routing.ivr(instanceId, body.to);
      if (!target) throw new OriginateError('not_found', `no ${type} "${body.to}" is configured`);
      to = { userId: `route:${body.to}`, identity: body.to, displayName: target.name, extension: body.to };
    } else to = await resolveDestination(store, instanceId, body.to);
    if (!to) throw new OriginateError('not_found', `no extension "${body.to}"`);
    if (to.userId === from.userId) throw new OriginateError('bad_request', 'from and to are the same extension');
    const fromSessions = sessions.ofUser(from.userId);
    if (fromSessions.length === 0) throw new OriginateError('conflict', 'extension not registered');
    if (calls.callOfUser(from.userId)) throw new OriginateError('conflict', `extension ${body.from} is busy`);

    const call = calls.create({ instanceId, kind: 'direct', caller: from, callerSession: null, callee: to, channelId: null });
    const record = body.variables?.record;
    if (record === false || record === 'false' || record === 0 || record === '0') call.record = false;
    await calls.persistStart(call, type === 'extension' ? to.userId : null);
    // What each phone shows: `from` sees who it is about to be connected to; `to` sees the caller id.
    const shownToFrom: PartyInfo = { ...to, displayName: `Click-to-call: ${to.displayName}` };
    const shownToTo: PartyInfo = body.caller_id ? { ...from, displayName: body.caller_id } : from;
    const fromTimeout = (body.timeout ?? DEFAULT_FROM_TIMEOUT_S) * 1000;
    void calls.ring(call, [from], { timeoutMs: fromTimeout, from: shownToFrom }).then(async (outcome) => {
      if (outcome.result !== 'answered') return calls.end(call, dispositionOf(outcome), outcome.reason);
      if (type !== 'extension') return this.deps.router.route(call, body.to);
      calls.endAfterRing(call, await calls.ring(call, [to], { timeoutMs: this.deps.ringTimeoutMs, from: shownToTo }));
    });
    return call.id;
  }
}
