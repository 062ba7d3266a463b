// socket.io contract between the widget and the gateway: event maps, payload schemas and acks.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Disposition, EndReason } from './calls.js';
import type { ErrorBody } from './errors.js';
import type { GatewayDispatch, RtcRegion } from './voice.js';
import { destinationSchema } from './destination.js';

/** Every client request is acknowledged with either data or an error; never silently dropped. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };
export type AckFn<T> = (res: Ack<T>) => void;

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Json = Type.Object({}, { additionalProperties: true });

/** Payload schemas for each client → server event, validated by the gateway before use. */
export const ClientPayloads = {
  'media:setup': Type.Object({}, { additionalProperties: false }),
  'media:capabilities': Type.Object({ rtpCapabilities: Json }, { additionalProperties: false }),
  'media:connect': Type.Object({ transportId: Id, dtlsParameters: Json }, { additionalProperties: false }),
  /** The transport's ICE failed or stalled with the socket still up: new ICE credentials for it, to restart ICE with. */
  'media:restartIce': Type.Object({ transportId: Id }, { additionalProperties: false }),
  'media:produce': Type.Object(
    { transportId: Id, callId: Id, kind: Type.Literal('audio'), rtpParameters: Json },
    { additionalProperties: false },
  ),
  /**
   * Preflight (a connection test outside any call): produce the microphone on the session's own send transport and
   * get it straight back as a consumer on its receive transport (a loopback through the SFU); no call, no ringing.
   */
  'media:preflight': Type.Object({ transportId: Id, rtpParameters: Json }, { additionalProperties: false }),
  /** Ends the session's preflight loopback (closes its producer and consumer); nothing running is fine. */
  'media:preflight-end': Type.Object({}, { additionalProperties: false }),
  /** Join (channel_id) or leave (null) a channel call, and set self mute/deafen. */
  'voice:state': Type.Object(
    {
      channel_id: Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Null()]),
      self_mute: Type.Optional(Type.Boolean()),
      self_deaf: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  /** Do-not-disturb: rings still arrive, marked silent. */
  'presence:update': Type.Object({ dnd: Type.Boolean() }, { additionalProperties: false }),
  /** A fresh widget token for the same user: the session lives on until it expires (else it ends at the old token's expiry). */
  'session:refresh': Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
  /** Round-trip times (ms) the widget measured to each region's endpoint, for automatic region choice. */
  'voice:latency': Type.Object(
    { rtts: Type.Record(Type.String({ pattern: '^[a-z0-9-]{1,64}$' }), Type.Number({ minimum: 0, maximum: 60_000 })) },
    { additionalProperties: false },
  ),
  'call:dial': Type.Object(
    { destination: destinationSchema() },
    { additionalProperties: false },
  ),
  'call:answer': Type.Object({ callId: Id }, { additionalProperties: false }),
  /** After a reconnect: take back this user's place in an answered call. */
  'call:resume': Type.Object({ callId: Id }, { additionalProperties: false }),
  'call:decline': Type.Object({ callId: Id }, { additionalProperties: false }),
  'call:hangup': Type.Object({ callId: Id }, { additionalProperties: false }),
  'call:mute': Type.Object({ callId: Id, muted: Type.Boolean() }, { additionalProperties: false }),
  /** Hold: neither send to nor hear the others until resumed. */
  'call:hold': Type.Object({ callId: Id, held: Type.Boolean() }, { additionalProperties: false }),
  'call:transfer': Type.Object(
    {
      callId: Id,
      destination: destinationSchema(),
      type: Type.Union([Type.Literal('blind'), Type.Literal('attended')]),
    },
    { additionalProperties: false },
  ),
  /** Finish (complete) or abandon (cancel) an attended transfer. */
  'call:transfer-end': Type.Object(
    { callId: Id, action: Type.Union([Type.Literal('complete'), Type.Literal('cancel')]) },
    { additionalProperties: false },
  ),
  'call:dtmf': Type.Object(
    { callId: Id, digits: Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9A-Da-d*#]+$' }) },
    { additionalProperties: false },
  ),
} satisfies Record<string, TSchema>;

export type ClientEventName = keyof typeof ClientPayloads;
export type ClientPayload<E extends ClientEventName> = Static<(typeof ClientPayloads)[E]>;

/** Transport parameters the server hands the widget (shapes as mediasoup defines them). */
export interface TransportOptions {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface MediaSetup {
  routerRtpCapabilities: unknown;
  /** The RTC region the transports live in. */
  region: string;
  send: TransportOptions;
  recv: TransportOptions;
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
}

export interface PartyInfo {
  userId: string;
  identity: string;
  displayName: string;
  extension: string | null;
}

/** Response data for each client → server event. */
export interface ClientResults {
  'media:setup': MediaSetup;
  'media:capabilities': Record<string, never>;
  'media:connect': Record<string, never>;
  /** The transport's fresh ICE parameters (mediasoup's shape) for the browser's `transport.restartIce()`. */
  'media:restartIce': { iceParameters: unknown };
  'media:produce': { producerId: string };
  /** The loopback's producer and its consumer (already flowing) for the browser's `recvTransport.consume()`. */
  'media:preflight': { producerId: string; consumerId: string; rtpParameters: unknown };
  'media:preflight-end': Record<string, never>;
  'voice:state': { callId: string | null };
  'voice:latency': Record<string, never>;
  'presence:update': Record<string, never>;
  /** When the session now ends, unless refreshed again (ISO 8601). */
  'session:refresh': { expiresAt: string };
  /** `codec`: send the microphone in this codec (a call to the phone network speaks G.711 end to end). */
  'call:dial': { callId: string; to: PartyInfo; codec?: CallCodec };
  'call:answer': Record<string, never>;
  'call:resume': Record<string, never>;
  'call:decline': Record<string, never>;
  'call:hangup': Record<string, never>;
  'call:mute': Record<string, never>;
  'call:hold': Record<string, never>;
  'call:dtmf': Record<string, never>;
  'call:transfer': Record<string, never>;
  'call:transfer-end': Record<string, never>;
}

export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientPayload<E>, ack: AckFn<ClientResults[E]>) => void;
};

export interface ConsumeOffer {
  callId: string;
  consumerId: string;
  producerId: string;
  kind: 'audio';
  rtpParameters: unknown;
}

export interface IncomingCall {
  callId: string;
  from: PartyInfo;
  /** Set when the ring is for a channel call; accepting joins it. */
  channelId?: string;
  /** Ring without sound (the user is in do-not-disturb). */
  silent?: boolean;
  /** Answer with the microphone in this codec (the caller is on the phone network). */
  codec?: CallCodec;
}

/** The codec a widget sends when a call's far end is a SIP trunk; absent: Opus. */
export type CallCodec = 'PCMU' | 'PCMA';

export interface CallEnded {
  callId: string;
  disposition: Disposition;
  reason: EndReason;
  /** Seconds from dial to end. */
  duration: number;
  /** Seconds from answer to end (0 when never answered). */
  talkTime: number;
}

export type ServerToClientEvents = GatewayDispatchEvents & {
  /** Sent on connect: who this session is, and the regions with the endpoints to measure. */
  'session:ready': (data: { user: PartyInfo; regions: (RtcRegion & { endpoint: string })[] }) => void;
  /** Sent just before the server closes the socket: its widget token expired unrefreshed, or its bot was revoked. */
  'session:expired': (data: { reason: 'token_expired' | 'revoked' }) => void;
  /** The server is shutting down: it takes no new calls, and ends live ones after `seconds` (`server_shutdown`). */
  'server:draining': (data: { seconds: number }) => void;
  /** Acked by the widget once it rings; the caller then gets `call:ringing`. */
  'call:incoming': (data: IncomingCall, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:ringing': (data: { callId: string }) => void;
  'call:answered': (data: { callId: string; answeredAt: string }) => void;
  'call:ended': (data: CallEnded) => void;
  'call:dtmf': (data: { callId: string; digits: string }) => void;
  'call:remote-muted': (data: { callId: string; muted: boolean }) => void;
  'call:remote-held': (data: { callId: string; held: boolean }) => void;
  /** The call is being recorded (shown as a recording indicator). */
  'call:recording': (data: { callId: string; recording: boolean }) => void;
  /** The party on the other end changed (a transfer connected someone else). */
  'call:remote-changed': (data: { callId: string; remote: PartyInfo }) => void;
  /** An attended transfer's progress, for the transferer: consulting, ready to complete, or failed. */
  'call:transfer': (data: { callId: string; state: 'ringing' | 'consulting' | 'failed' | 'completed' | 'cancelled'; target: PartyInfo }) => void;
  /** The widget consumes the offered track, then acks so the server resumes the consumer. */
  /** The server moved this session's media (region change): rebuild transports with media:setup. */
  'media:relocated': (data: { region: string }) => void;
  /** The far side's producer closed (it left, or moved region): drop that consumer. */
  'media:consumer-closed': (data: { consumerId: string }) => void;
  'media:consume': (offer: ConsumeOffer, ack: (res: Ack<Record<string, never>>) => void) => void;
};

export type GatewayDispatchEvents = { [E in keyof GatewayDispatch]: (data: GatewayDispatch[E]) => void };

/** Socket handshake auth: `io(server, { auth: { token } })`. */
export interface HandshakeAuth {
  token: string;
}
