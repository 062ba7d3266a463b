// Channel voice contract (seed 000): bots, channels, RTC regions, call eligibility, ringing, gateway voice events.
import { Type, type Static } from '@sinclair/typebox';

/** A snowflake ID as a decimal string (users, bots, channels, calls). */
export const Snowflake = Type.String({ pattern: '^[0-9]{1,20}$' });

export const CreateBotBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
export type CreateBotBody = Static<typeof CreateBotBody>;
export const BotResponse = Type.Object({ id: Type.String(), name: Type.String(), token: Type.String() });

export const MAX_CHANNEL_RECIPIENTS = 10;

export const CreateChannelBody = Type.Object(
  {
    recipients: Type.Array(Snowflake, { minItems: 2, maxItems: MAX_CHANNEL_RECIPIENTS, uniqueItems: true }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type CreateChannelBody = Static<typeof CreateChannelBody>;

export const ChannelResponse = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('dm'), Type.Literal('group')]),
  name: Type.Union([Type.String(), Type.Null()]),
  recipients: Type.Array(Type.String()),
  rtc_region: Type.Union([Type.String(), Type.Null()]),
});
export type ChannelResponse = Static<typeof ChannelResponse>;

export const RtcRegion = Type.Object({ id: Type.String(), name: Type.String(), emoji: Type.String() });
export type RtcRegion = Static<typeof RtcRegion>;

export const CallEligibility = Type.Object({ ringable: Type.Boolean(), silent: Type.Boolean() });
export type CallEligibility = Static<typeof CallEligibility>;

export const RegionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' });

/** `region: null` returns the channel to automatic region selection. */
export const PatchCallBody = Type.Object({ region: Type.Union([RegionId, Type.Null()]) }, { additionalProperties: false });
export type PatchCallBody = Static<typeof PatchCallBody>;

export const RecipientsBody = Type.Object(
  { recipients: Type.Optional(Type.Array(Snowflake, { minItems: 1, maxItems: MAX_CHANNEL_RECIPIENTS, uniqueItems: true })) },
  { additionalProperties: false },
);
export type RecipientsBody = Static<typeof RecipientsBody>;

/** One participant's voice state in a channel call. */
export interface VoiceState {
  channel_id: string | null;
  user_id: string;
  session_id: string;
  self_mute: boolean;
  self_deaf: boolean;
}

/** Gateway dispatch events (Discord-style names) sent to bots and widgets of a channel's recipients. */
export interface GatewayDispatch {
  CALL_CREATE: { channel_id: string; region: string; ringing: string[]; voice_states: VoiceState[] };
  CALL_UPDATE: { channel_id: string; region: string; ringing: string[] };
  CALL_DELETE: { channel_id: string };
  VOICE_STATE_UPDATE: VoiceState;
  VOICE_SERVER_UPDATE: { channel_id: string; region: string; endpoint: string };
}
export type GatewayEventName = keyof GatewayDispatch;
