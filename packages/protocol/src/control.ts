// Operator call control contract (seed 001): live calls and hanging up a channel (call leg).
import { Type, type Static } from '@sinclair/typebox';
import { destinationSchema } from './destination.js';

/** A call leg id, `TECH/endpoint-sequence`, e.g. `WebRTC/1001-0000002a`. */
export const LegChannelId = Type.String({ minLength: 3, maxLength: 160, pattern: '^[A-Za-z]+/[^\\s/]+$' });

export const LiveCall = Type.Object({
  channel_id: Type.String(),
  /** The call every leg of it shares (its id in the history, recording and journey). */
  linkedid: Type.String(),
  from: Type.String(),
  to: Type.String(),
  direction: Type.String(),
  /** `ringing` until this leg is bridged, then `answered`. */
  status: Type.Union([Type.Literal('ringing'), Type.Literal('answered')]),
  /** Seconds since the leg started. */
  duration: Type.Integer(),
});
export type LiveCall = Static<typeof LiveCall>;

export const HangupReasons = ['normal', 'busy', 'rejected', 'no_answer', 'congestion'] as const;

export const HangupChannelBody = Type.Object(
  {
    channel_id: LegChannelId,
    reason: Type.Optional(Type.Union(HangupReasons.map((r) => Type.Literal(r)))),
  },
  { additionalProperties: false },
);
export type HangupChannelBody = Static<typeof HangupChannelBody>;

/** The `{status, message}` answer of PBX control actions (hang up, transfer, click-to-call). */
export const ControlResult = Type.Object({
  status: Type.Union([Type.Literal('success'), Type.Literal('error')]),
  message: Type.String(),
});
export type ControlResult = Static<typeof ControlResult>;

/** `call_id` is the transferer's leg; the party bridged to it is sent to `destination`. */
export const TransferBody = Type.Object(
  {
    call_id: LegChannelId,
    // A user, extension, queue or IVR number, or an AI agent as `agent:<key>` (as the widget's transfer takes).
    destination: destinationSchema(),
    type: Type.Union([Type.Literal('blind'), Type.Literal('attended')]),
  },
  { additionalProperties: false },
);
export type TransferBody = Static<typeof TransferBody>;

export const ClickToCallTypes = ['extension', 'queue', 'ivr', 'ai_agent', 'external'] as const;

/** Seed 002: ring `from` first; when it answers, ring `to`; bridge them. */
export const ClickToCallBody = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@+*#-]+$' }),
    to: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@+*#-]+$' }),
    to_type: Type.Optional(Type.Union(ClickToCallTypes.map((t) => Type.Literal(t)))),
    caller_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Seconds to wait for `from` to answer (default 30). */
    timeout: Type.Optional(Type.Integer({ minimum: 5, maximum: 300 })),
    variables: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean()]), {
        maxProperties: 32,
      }),
    ),
  },
  { additionalProperties: false },
);
export type ClickToCallBody = Static<typeof ClickToCallBody>;

export const JourneyStep = Type.Object({
  time: Type.String(),
  action: Type.String(),
  from: Type.String(),
  to: Type.String(),
  duration: Type.Integer(),
  status: Type.String(),
});

/** Seed 001: a call's journey by its linkedid (the call id every leg shares). */
export const JourneyResponse = Type.Object({
  linkedid: Type.String(),
  caller: Type.String(),
  destination: Type.String(),
  /** The disposition in lower case (`answered`, `no answer`, `busy`, `failed`), or `in progress`. */
  status: Type.String(),
  total_duration: Type.Integer(),
  answered_by: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Array(JourneyStep),
});
export type JourneyResponse = Static<typeof JourneyResponse>;
