// Transfers: blind (the other party is sent to a new destination) and attended (consult the target first, then complete or cancel).
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import type { Call } from './call.js';
import type { CallControl } from './call-control.js';
import { agentKeyOf } from './agent-network.js';
import type { BusyAnywhere } from './click-to-call.js';
import { resolveDestination } from './directory.js';
import type { SessionNotifier } from './notifier.js';
import type { Journeys } from './journey.js';
import type { SessionRegistry } from './sessions.js';

export interface TransfersDeps {
  store: Store;
  calls: CallControl;
  sessions: SessionRegistry;
  notifier: SessionNotifier;
  journeys: Journeys;
  ringTimeoutMs: number;
  /** Sends the call on to a queue or IVR menu (the Router's routing). */
  route(call: Call, destination: string): Promise<void>;
  busyAnywhere?: BusyAnywhere;
}

export class Transfers {
  constructor(private readonly deps: TransfersDeps) {}

  /** Starts a transfer by the party on `transferer`'s session: the *other* party is the one transferred. */
  async start(call: Call, transferer: string, destination: string, type: 'blind' | 'attended'): Promise<void> {
    const { calls, sessions } = this.deps;
    if (call.kind !== 'direct' || !call.answeredAt || call.role(transferer) !== 'joined') {
      throw new AppError('invalid_state', 'only a party of an answered two-party call can transfer it');
    }
    if (call.consult || call.transferRing) throw new AppError('conflict', 'a transfer is already in progress');
    const transferee = call.peersOf(transferer)[0];
    if (!transferee) throw new AppError('invalid_state', 'there is nobody to transfer');
    const target = await resolveDestination(this.deps.store, call.instanceId, destination);
    if (!target) return this.toRoute(call, transferer, destination, type);
    if ([...call.joined.values()].some((p) => p.party.userId === target.userId)) throw new AppError('bad_request', 'the target is already in this call');
    if ((await this.deps.busyAnywhere?.(target.userId)) || calls.callOfUser(target.userId)) throw new AppError('conflict', `${destination} is busy`);
    const targetSessions = sessions.ofUser(target.userId);
    if (targetSessions.length === 0) throw new AppError('conflict', `${destination} is not registered`);
    if (call.state === 'ended' || call.role(transferer) !== 'joined') throw new AppError('invalid_state', 'the call ended');

    const by = call.joined.get(transferer)!.party;
    this.deps.journeys.step(call, 'Transfer', by.extension ?? by.identity, target.extension ?? target.identity, type);
    if (type === 'blind') calls.release(call, transferer, 'transferred');
    else {
      call.consult = { transferer, transferee, target };
      // The transferer hanging up once the target answered completes the transfer, as on a desk phone.
      call.onLeave = (sessionId) => {
        const targetJoined = [...call.joined.values()].some((p) => p.party.userId === target.userId);
        if (sessionId !== transferer || call.consult?.transferer !== transferer || !targetJoined) return false;
        calls.detach(call, this.complete(call, transferer));
        return true;
      };
      await calls.holdSession(call, transferee, true);
    }
    const transfererParty = call.joined.get(transferer)?.party;
    const from = type === 'attended' && transfererParty ? transfererParty : (call.joined.get(transferee)?.party ?? call.caller);
    const ring = new AbortController();
    call.transferRing = ring;
    const ringing = calls.ring(call, [target], { timeoutMs: this.deps.ringTimeoutMs, from, signal: ring.signal }).then((outcome) => {
      if (call.transferRing === ring) call.transferRing = null;
      if (outcome.result === 'answered') return this.targetAnswered(call, outcome.sessionId!);
      if (type === 'blind') return calls.end(call, 'ANSWERED', 'transfer_failed');
      return this.abandon(call, 'failed');
    });
    calls.detach(call, ringing);
    if (type === 'attended') this.deps.notifier.notify(transferer, 'call:transfer', { callId: call.id, state: 'ringing', target });
  }

  /** A blind transfer to a queue, IVR menu or AI agent: the transferer leaves and the caller is routed there, as if dialled. */
  private async toRoute(call: Call, transferer: string, destination: string, type: 'blind' | 'attended'): Promise<void> {
    const { routing, agents } = this.deps.store;
    const agentKey = agentKeyOf(destination);
    const routed = agentKey
      ? await agents.byKey(call.instanceId, agentKey)
      : ((await routing.queue(call.instanceId, destination)) ?? (await routing.ivr(call.instanceId, destination)));
    if (!routed) throw new AppError('not_found', `no user, extension, queue, IVR or agent "${destination}"`);
    if (type === 'attended') throw new AppError('bad_request', 'a queue, IVR or agent takes blind transfers only (there is nobody to consult)');
    if (call.state === 'ended' || call.role(transferer) !== 'joined') throw new AppError('invalid_state', 'the call ended');
    const by = call.joined.get(transferer)!.party;
    this.deps.journeys.step(call, 'Transfer', by.extension ?? by.identity, destination, type);
    this.deps.calls.release(call, transferer, 'transferred');
    this.deps.calls.detach(call, this.deps.route(call, destination));
  }

  /** The target answered: a blind transfer is connected; an attended one is now consulting. */
  private targetAnswered(call: Call, targetSession: string): void {
    const target = call.joined.get(targetSession)?.party;
    if (!target) return;
    if (call.consult) {
      this.deps.notifier.notify(call.consult.transferer, 'call:transfer', { callId: call.id, state: 'consulting', target });
      return;
    }
    for (const peer of call.peersOf(targetSession)) this.deps.notifier.notify(peer, 'call:remote-changed', { callId: call.id, remote: target });
  }

  /** Completes an attended transfer: the transferer leaves, the transferee and the target talk. */
  async complete(call: Call, transferer: string): Promise<void> {
    const consult = this.consultOf(call, transferer);
    const targetSession = [...call.joined].find(([, p]) => p.party.userId === consult.target.userId)?.[0];
    if (!targetSession) throw new AppError('invalid_state', 'the target has not answered yet');
    call.consult = null;
    call.onLeave = null;
    const by = call.joined.get(transferer)!.party;
    this.deps.journeys.step(call, 'Transfer', by.extension ?? by.identity, consult.target.extension ?? consult.target.identity, 'completed');
    this.deps.notifier.notify(transferer, 'call:transfer', { callId: call.id, state: 'completed', target: consult.target });
    this.deps.calls.release(call, transferer, 'transferred');
    await this.deps.calls.holdSession(call, consult.transferee, false);
    const transfereeParty = call.joined.get(consult.transferee)?.party;
    this.deps.notifier.notify(consult.transferee, 'call:remote-changed', { callId: call.id, remote: consult.target });
    if (transfereeParty) this.deps.notifier.notify(targetSession, 'call:remote-changed', { callId: call.id, remote: transfereeParty });
  }

  /** Cancels an attended transfer: the target is dropped and the transferer is back with the transferee. */
  async cancel(call: Call, transferer: string): Promise<void> {
    this.consultOf(call, transferer);
    await this.abandon(call, 'cancelled');
  }

  private async abandon(call: Call, state: 'failed' | 'cancelled'): Promise<void> {
    const consult = call.consult;
    if (!consult) return;
    call.consult = null;
    call.onLeave = null;
    const { calls } = this.deps;
    const by = call.joined.get(consult.transferer)?.party;
    this.deps.journeys.step(call, 'Transfer', by ? (by.extension ?? by.identity) : call.fromNumber, consult.target.extension ?? consult.target.identity, state);
    call.transferRing?.abort();
    const targetSession = [...call.joined].find(([, p]) => p.party.userId === consult.target.userId)?.[0];
    if (targetSession) calls.release(call, targetSession, 'cancelled');
    await calls.holdSession(call, consult.transferee, false);
    this.deps.notifier.notify(consult.transferer, 'call:transfer', { callId: call.id, state, target: consult.target });
  }

  private consultOf(call: Call, transferer: string): NonNullable<Call['consult']> {
    if (!call.consult || call.consult.transferer !== transferer) throw new AppError('invalid_state', 'no attended transfer in progress by this party');
    return call.consult;
  }
}
