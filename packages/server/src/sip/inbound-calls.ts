// InboundCalls: an INVITE from a trunk becomes a call — the trunk admitted, the number looked up, G.711 negotiated, the
// caller's SIP leg joined, then the destination rung (an extension) or routed (a queue, an IVR menu).
import type { PartyInfo } from '@astral/protocol';
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { CallControl } from '../calls/call-control.js';
import { agentDestination, agentParty } from '../calls/agent-network.js';
import { resolveDestination } from '../calls/directory.js';
import type { Journeys } from '../calls/journey.js';
import type { Router } from '../calls/routing.js';
import type { MediaService } from '../media/service.js';
import type { Store } from '../store/index.js';
import type { PhoneNumber } from '../store/numbers.js';
import type { SipGateway } from './gateway.js';
import { negotiate, parseSdp } from './sdp.js';
import type { TrunkDirectory } from './trunk-directory.js';
import type { InboundInvite } from './types.js';
import { callLog } from '../calls/log.js';

export interface InboundCallsDeps {
  gateway: SipGateway;
  trunks: TrunkDirectory;
  store: Store;
  calls: CallControl;
  router: Router;
  media: MediaService;
  journeys: Journeys;
  ringTimeoutMs: number;
  log: FastifyBaseLogger;
}

export class InboundCalls {
  constructor(private readonly deps: InboundCallsDeps) {}

  async handle(invite: InboundInvite): Promise<void> {
    const { gateway, trunks, calls, router, media, journeys, log } = this.deps;
    const trunk = await trunks.admit(invite, async (t) => (await this.numberOf(t.instanceId, t.id, invite)) !== undefined);
    if (!trunk) return;
    const number = await this.numberOf(trunk.instanceId, trunk.id, invite);
    if (!number) {
      log.info({ trunk: trunk.name, to: invite.requestUser ?? invite.toUser }, 'sip: INVITE for a number we do not serve');
      return invite.reject(404, 'Not Found');
    }
    const offer = invite.sdp ? parseSdp(invite.sdp) : null;
    const chosen = offer && negotiate(offer, trunk.codecs);
    if (!offer || !chosen) return invite.reject(488, 'Not Acceptable Here');
    const callee = await this.destinationOf(trunk.instanceId, number);
    if (!callee) return invite.reject(404, 'Not Found');

    const caller = invite.fromUser ?? 'anonymous';
    const party: PartyInfo = { userId: `pstn:${randomUUID()}`, identity: caller, displayName: invite.fromDisplayName || caller, extension: null };
    const leg = gateway.openLeg(trunk, 'inbound', party);
    leg.dialog = invite;
    invite.on('cancel', () => {
      leg.finished = true;
      gateway.hangupFromCarrier(leg);
    });
    gateway.watchDialog(leg, invite);
    const call = router.startCall(leg.session, callee);
    leg.callId = call.id;
    call.codec = chosen.codec;
    call.toNumber = number.number;
    try {
      const local = await media.openSipLeg(leg.session.id, call.id, call.region, chosen.codec);
      media.setCarrier(leg.session.id, { ip: offer.ip, port: offer.port, ...chosen });
      leg.localSdp = gateway.sdpFor(leg, local, chosen.codec, chosen.payloadType);
    } catch (err) {
      callLog(log, call, leg.session.id).error({ err }, 'sip: could not set up media for an inbound call');
      return calls.end(call, 'FAILED', 'media_failed');
    }
    try {
      await calls.persistStart(call, number.destinationType === 'extension' && !callee.userId.startsWith('route:') ? callee.userId : null, 'inbound');
    } catch (err) {
      callLog(log, call, leg.session.id).error({ err }, 'sip: could not record an inbound call');
      return calls.end(call, 'FAILED', 'unavailable'); // the carrier gets 480, the leg is released
    }
    if (call.state === 'ended') return; // the carrier cancelled meanwhile
    journeys.step(call, 'Dial', call.fromNumber, number.number, 'ringing');
    if (number.destinationType === 'extension') {
      calls.detach(call, calls.ring(call, [callee], { timeoutMs: this.deps.ringTimeoutMs }).then((outcome) => calls.endAfterRing(call, outcome)));
    } else {
      const destination = number.destinationType === 'ai_agent' ? agentDestination(number.destination) : number.destination;
      calls.detach(call, router.route(call, destination));
    }
  }

  /** The number dialled: the Request-URI's user, else To's, with or without '+'; it must arrive on its trunk (or any). */
  private async numberOf(instanceId: string, trunkId: string, invite: InboundInvite): Promise<PhoneNumber | undefined> {
    for (const dialled of [invite.requestUser, invite.toUser]) {
      if (!dialled) continue;
      const found = await this.deps.store.numbers.lookup(instanceId, dialled);
      if (found && (found.trunkId === null || found.trunkId === trunkId)) return found;
    }
    return undefined;
  }

  /** Who the call is shown as going to: the extension's user, the queue / IVR menu, or the agent. */
  private async destinationOf(instanceId: string, number: PhoneNumber): Promise<PartyInfo | undefined> {
    const { store } = this.deps;
    if (number.destinationType === 'extension') return resolveDestination(store, instanceId, number.destination);
    if (number.destinationType === 'ai_agent') {
      const agent = await store.agents.byKey(instanceId, number.destination);
      return agent && agentParty(agent);
    }
    const target = number.destinationType === 'queue' ? await store.routing.queue(instanceId, number.destination) : await store.routing.ivr(instanceId, number.destination);
    return target && { userId: `route:${number.destination}`, identity: number.destination, displayName: target.name, extension: number.destination };
  }
}
