// Operator call control contract (seed 001): live calls and hanging up a channel (call leg).
import { Type, type Static } from '@sinclair/typebox';

/** A call leg id, `TECH/endpoint-sequence`, e.g. `WebRTC/1001-0000002a`. */
export const LegChannelId = Type.String({ minLength: 3, maxLength: 160, pattern: '^[A-Za-z]+/[^\\s/]+$' });

export const LiveCall = Type.Object({
  channel_id: Type.String(),
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
