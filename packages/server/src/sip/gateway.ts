// SipGateway: the phone network as a transport into call control. Each SIP leg is a session whose call events become SIP
// (INVITE, 180, 200, CANCEL, BYE); inbound INVITEs from trunks become calls routed like any other; outbound legs ring
// through the one ring operation. Like the socket.io gateway, it knows SIP, never mediasoup or SQL.
import type { Ack, PartyInfo, ServerToClientEvents } from '@astral/protocol';
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Call } from '../calls/call.js';
import type { CallControl } from '../calls/call-control.js';
import { callLog } from '../calls/log.js';
import { sipSessionId } from '../calls/legs.js';
import type { SessionNotifier } from '../calls/notifier.js';
import type { OutboundTrunk, PhoneNetwork } from '../calls/phone-network.js';
import type { RingOutcome } from '../calls/ringing.js';
import type { Session, SessionRegistry } from '../calls/sessions.js';
import type { MediaService } from '../media/service.js';
import type { TrunkWithSecret } from '../store/trunks.js';
import { refusalOf, rejectStatusOf } from './responses.js';
import { buildSdp, parseSdp, negotiate, type SdpDirection } from './sdp.js';
import type { TrunkDirectory } from './trunk-directory.js';
import type { G711Codec, InboundInvite, OutboundInvite, SipDialog } from './types.js';
import type { SipUserAgent } from './user-agent.js';

type Params<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

const TELEPHONE_EVENT_PT = 101;
const STATIC_PT: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };

const stillRung = (call: Call, leg: SipLeg): boolean => call.state !== 'ended' && call.role(leg.session.id) === 'rung';

/** One SIP leg: a session of a call carried by a SIP dialog. */
export interface SipLeg {
  session: Session;
  trunk: TrunkWithSecret;
  direction: 'inbound' | 'outbound';
  callId: string | null;
  dialog: InboundInvite | OutboundInvite | null;
  /** Our SDP (answer for inbound, offer for outbound). */
  localSdp: string | null;
  /** 200 OK sent or received. */
  answered: boolean;
  /** The dialog is over on the SIP side (BYE, CANCEL or a final failure): nothing more to send. */
  finished: boolean;
  /** Our SDP's origin: one session id per leg, its version raised with every new offer or answer (RFC 3264 §8). */
  sdpOrigin: { id: string; version: number };
  /** Outbound only: the number dialled and the caller id shown. */
  number?: string;
  callerId?: string;
}

export interface SipGatewayDeps {
  ua: SipUserAgent;
  calls: CallControl;
  sessions: SessionRegistry;
  media: MediaService;
  trunks: TrunkDirectory;
  log: FastifyBaseLogger;
}

export class SipGateway implements SessionNotifier, PhoneNetwork {
  private readonly legs = new Map<string, SipLeg>();

  constructor(private readonly deps: SipGatewayDeps) {
    deps.media.onSipDtmf = (sessionId, digit) => this.dtmfFromCarrier(sessionId, digit);
  }

  /** A new SIP leg's session (registered, so the ringer finds its endpoint); `party` is the phone-side person. */
  openLeg(trunk: TrunkWithSecret, direction: SipLeg['direction'], party: PartyInfo): SipLeg {
    const session: Session = { id: sipSessionId(trunk.name, randomUUID()), principal: { kind: 'trunk', instanceId: trunk.instanceId, party }, dnd: false };
    const leg: SipLeg = {
      session,
      trunk,
      direction,
      callId: null,
      dialog: null,
      localSdp: null,
      answered: false,
      finished: false,
      sdpOrigin: { id: String(Date.now()), version: 0 },
    };
    this.legs.set(session.id, leg);
    this.deps.sessions.add(session);
    return leg;
  }

  /** Sends the carrier's dialog events into call control for this leg. */
  watchDialog(leg: SipLeg, dialog: SipDialog): void {
    dialog.on('bye', () => {
      leg.finished = true;
      this.hangupFromCarrier(leg);
    });
    dialog.on('reinvite', (sdp: string, reply: (answer: string) => void) => this.reinvited(leg, sdp, reply));
  }

  /** Our next SDP for a leg: the relay's port, the codec, telephone-event, and a direction (hold answers). */
  sdpFor(leg: SipLeg, media: { ip: string; port: number }, codec: G711Codec, payloadType: number, direction: SdpDirection = 'sendrecv'): string {
    leg.sdpOrigin.version += 1;
    const { id: sessionId, version } = leg.sdpOrigin;
    return buildSdp({ ip: media.ip, port: media.port, codec, payloadType, telephoneEventPt: TELEPHONE_EVENT_PT, direction, sessionId, version });
  }

  // PhoneNetwork: outbound legs.

  async trunkFor(instanceId: string, name?: string): Promise<OutboundTrunk | undefined> {
    const trunk = await this.deps.trunks.outbound(instanceId, name);
    return trunk && { id: trunk.id, name: trunk.name, codec: trunk.codecs[0]!, callerId: trunk.callerId };
  }

  async ring(call: Call, number: string, opts: { trunk: OutboundTrunk; callerId?: string; timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome> {
    let trunk: TrunkWithSecret | undefined;
    try {
      trunk = await this.deps.trunks.withSecret(opts.trunk.id);
    } catch (err) {
      callLog(this.deps.log, call).error({ err, trunk: opts.trunk.name }, 'sip: the trunk password cannot be opened (ASTRAL_SECRET_KEY changed?)');
    }
    if (!trunk) return { result: 'failed', reason: 'unavailable' };
    return this.ringVia(call, number, trunk, opts);
  }

  /** Rings `user` at a trunk (stored, or an ad-hoc target such as Retell's SIP server) as one more leg of the call. */
  async ringVia(call: Call, user: string, trunk: TrunkWithSecret, opts: { callerId?: string; timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome> {
    const leg = this.openLeg(trunk, 'outbound', { userId: `pstn:${randomUUID()}`, identity: user, displayName: user, extension: null });
    leg.number = user;
    leg.callerId = opts.callerId ?? trunk.callerId ?? call.fromNumber;
    const outcome = await this.deps.calls.ring(call, [leg.session.principal.party], { timeoutMs: opts.timeoutMs, from: opts.from });
    if (outcome.result !== 'answered') this.close(leg);
    return outcome;
  }

  /** The ringer alerts an outbound leg: send the INVITE; the ack means the carrier is ringing (or failed). */
  private placeCall(leg: SipLeg, callId: string): Promise<Ack<Record<string, never>>> {
    const { calls, media } = this.deps;
    const call = calls.get(callId);
    if (!call) return Promise.resolve({ ok: false, error: { code: 'not_found', message: 'the call ended' } });
    const log = callLog(this.deps.log, call, leg.session.id);
    leg.callId = callId;
    const sfuCodec: G711Codec = call.codec === 'opus' ? leg.trunk.codecs[0]! : call.codec;
    const offerCodec = leg.trunk.codecs.includes(sfuCodec) ? sfuCodec : leg.trunk.codecs[0]!;
    return new Promise((resolve) => {
      let acked = false;
      const ack = (res: Ack<Record<string, never>>) => {
        if (!acked) resolve(res);
        acked = true;
      };
      media
        .openSipLeg(leg.session.id, callId, call.region, sfuCodec)
        .then((local) => {
          if (leg.finished || !stillRung(call, leg)) return ack({ ok: false, error: { code: 'invalid_state', message: 'no longer rung' } });
          leg.localSdp = this.sdpFor(leg, local, offerCodec, STATIC_PT[offerCodec]);
          const dialog = this.deps.ua.invite({ trunk: leg.trunk, toUser: leg.number!, fromUser: leg.callerId!, sdp: leg.localSdp });
          leg.dialog = dialog;
          this.watchDialog(leg, dialog);
          dialog.on('progress', (status: number, sdp: string | null) => {
            ack({ ok: true, data: {} });
            if (sdp && this.applyRemote(leg, sdp)) calls.earlyMedia(call, leg.session.id);
            log.debug({ status }, 'sip: outbound progress');
          });
          dialog.on('answered', (sdp: string) => {
            ack({ ok: true, data: {} });
            leg.answered = true;
            if (!this.applyRemote(leg, sdp)) log.warn('sip: the carrier answered without usable G.711 SDP');
            try {
              calls.answer(leg.session, callId);
            } catch {
              dialog.bye(); // answered after the ring ended (timeout, caller hung up)
            }
          });
          dialog.on('failed', (status: number, reason: string, local: boolean) => {
            leg.finished = true;
            ack({ ok: false, error: { code: 'sip_failed', message: `${status} ${reason}` } });
            log.info({ status, reason }, 'sip: outbound call failed');
            // A trunk that never answered is unreachable (FAILED), not a callee who let it ring (NO ANSWER).
            if (stillRung(call, leg)) calls.decline(leg.session, callId, local ? { result: 'failed', reason: 'unavailable' } : refusalOf(status));
          });
        })
        .catch((err: unknown) => {
          log.error({ err }, 'sip: could not set up media for an outbound leg');
          ack({ ok: false, error: { code: 'media_error', message: 'no media for the SIP leg' } });
          if (stillRung(call, leg)) calls.decline(leg.session, callId, { result: 'failed', reason: 'media_failed' });
        });
    });
  }

  /** Applies the far SDP (answer or early media) to the leg's relay; false when it has no G.711 we allow. */
  applyRemote(leg: SipLeg, sdp: string): boolean {
    const parsed = parseSdp(sdp);
    const chosen = parsed && negotiate(parsed, leg.trunk.codecs);
    if (!parsed || !chosen) return false;
    this.deps.media.setCarrier(leg.session.id, { ip: parsed.ip, port: parsed.port, ...chosen });
    return true;
  }

  // SessionNotifier: call control's events for SIP legs become SIP.

  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Params<E>): void {
    const leg = this.legs.get(sessionId);
    if (!leg) return;
    switch (event) {
      case 'call:ringing':
        if (leg.direction === 'inbound' && !leg.finished) (leg.dialog as InboundInvite | null)?.progress(180);
        return;
      case 'call:answered':
        if (leg.direction === 'inbound') this.acceptInbound(leg);
        return;
      case 'call:dtmf':
        this.deps.media.sendDtmf(sessionId, (payload as Params<'call:dtmf'>).digits);
        return;
      case 'call:ended':
        this.ended(leg, payload as Params<'call:ended'>);
        return;
      default:
        return; // mute, hold, recording, transfer states: nothing to tell a carrier
    }
  }

  dispatch(): void {
    // Gateway dispatch events are for widgets and bots.
  }

  request<E extends 'media:consume' | 'call:incoming'>(sessionId: string, event: E, payload: Params<E>): Promise<Ack<Record<string, never>>> {
    const leg = this.legs.get(sessionId);
    if (!leg) return Promise.reject(new Error(`SIP leg ${sessionId} is gone`));
    // A SIP leg's consumers live on the server (its PlainTransport): nothing to wait for.
    if (event === 'media:consume') return Promise.resolve({ ok: true, data: {} });
    return this.placeCall(leg, (payload as Params<'call:incoming'>).callId);
  }

  private acceptInbound(leg: SipLeg): void {
    const invite = leg.dialog as InboundInvite | null;
    if (!invite || !leg.callId || leg.answered || leg.finished || !leg.localSdp) return;
    const log = callLog(this.deps.log, { id: leg.callId, instanceId: leg.trunk.instanceId }, leg.session.id);
    leg.answered = true;
    invite.accept(leg.localSdp).catch((err: unknown) => {
      log.warn({ err }, 'sip: no ACK for our 200 OK; hanging up');
      leg.finished = true;
      this.hangupFromCarrier(leg);
    });
  }

  /** Call control ended this leg's part of the call: tell the carrier the way SIP says it, then release the leg. */
  private ended(leg: SipLeg, info: Params<'call:ended'>): void {
    if (!leg.finished && leg.dialog) {
      if (leg.answered) leg.dialog.bye();
      else if (leg.direction === 'outbound') (leg.dialog as OutboundInvite).cancel();
      else (leg.dialog as InboundInvite).reject(rejectStatusOf(info.disposition, info.reason));
    }
    leg.finished = true;
    this.close(leg);
  }

  private close(leg: SipLeg): void {
    if (!this.legs.delete(leg.session.id)) return;
    this.deps.sessions.remove(leg.session.id);
    this.deps.media.closeSession(leg.session.id);
  }

  /** The carrier hung up (BYE) or gave up (CANCEL): the leg leaves its call like a widget hanging up. */
  hangupFromCarrier(leg: SipLeg): void {
    const call = leg.callId ? this.deps.calls.get(leg.callId) : undefined;
    if (!call || !call.role(leg.session.id)) return this.close(leg);
    this.deps.calls.hangup(leg.session, call.id);
  }

  /** The carrier re-INVITEd: `sendonly`/`inactive` holds the call (we answer `recvonly`/`inactive`), `sendrecv` resumes. */
  private reinvited(leg: SipLeg, sdp: string, reply: (answer: string) => void): void {
    const parsed = parseSdp(sdp);
    const chosen = parsed && negotiate(parsed, leg.trunk.codecs);
    const local = leg.localSdp && parseSdp(leg.localSdp);
    if (!parsed || !chosen || !local) return reply(leg.localSdp ?? '');
    this.deps.media.setCarrier(leg.session.id, { ip: parsed.ip, port: parsed.port, ...chosen });
    const held = parsed.direction === 'sendonly' || parsed.direction === 'inactive';
    const answerDirection: SdpDirection = parsed.direction === 'sendonly' ? 'recvonly' : parsed.direction === 'inactive' ? 'inactive' : 'sendrecv';
    reply(this.sdpFor(leg, local, chosen.codec, chosen.payloadType, answerDirection));
    const call = leg.callId ? this.deps.calls.get(leg.callId) : undefined;
    if (call?.answeredAt && call.role(leg.session.id) === 'joined') {
      this.deps.calls.holdSession(call, leg.session.id, held).catch((err: unknown) => callLog(this.deps.log, call, leg.session.id).warn({ err }, 'sip: hold from the carrier failed'));
    }
  }

  /** An RFC 4733 digit from the carrier: IVR menus and the widgets' `astral-dtmf` get it like a widget's key press. */
  private dtmfFromCarrier(sessionId: string, digit: string): void {
    const leg = this.legs.get(sessionId);
    if (!leg?.callId) return;
    try {
      this.deps.calls.dtmf(leg.session, leg.callId, digit);
    } catch {
      // digits before the answer (or after the end) go nowhere, as on a PBX
    }
  }

  /** Ends every SIP leg (server shutdown): BYE or CANCEL so no carrier keeps a dangling call. */
  closeAll(): void {
    for (const leg of [...this.legs.values()]) {
      if (!leg.finished && leg.dialog) {
        if (leg.answered) leg.dialog.bye();
        else if (leg.direction === 'outbound') (leg.dialog as OutboundInvite).cancel();
        else (leg.dialog as InboundInvite).reject(503);
      }
      leg.finished = true;
      this.close(leg);
    }
  }
}
