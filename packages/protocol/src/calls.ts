// Call vocabulary shared by server and widget: phone states, dispositions, end reasons, call records.
import { Type, type Static } from '@sinclair/typebox';

export const PhoneStates = [
  'disconnected',
  'connecting',
  'ready',
  'incoming',
  'dialing',
  'ringing',
  'in-call',
  'reconnecting',
] as const;
export type PhoneState = (typeof PhoneStates)[number];

/** CDR dispositions, as a PBX reports them. */
export const Dispositions = ['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED'] as const;
export type Disposition = (typeof Dispositions)[number];

/** Why a call ended, finer-grained than its disposition. */
export const EndReasons = [
  'hangup', // an answered call was hung up by a party
  'declined', // the callee rejected the call (BUSY)
  'busy', // the callee was already in a call (BUSY)
  'cancelled', // the caller gave up before an answer (NO ANSWER)
  'timeout', // nobody answered in time (NO ANSWER)
  'unavailable', // the callee is unknown or not connected (FAILED)
  'answered_elsewhere', // another session of the callee answered
  'transferred', // this party transferred the call away
  'transfer_failed', // the transfer target never answered
  'disconnected', // a party's connection dropped for good
  'media_failed', // media could not be set up (FAILED)
  'server_shutdown', // the server shut down (SIGTERM) before the call finished within its drain time
  'server_restart', // the server died mid-call; closed at its next start where last known alive (ANSWERED if answered, else FAILED)
  'node_lost', // the cluster node owning the call, or holding a party's connection, died; a surviving node closed it (FAILED)
] as const;
/** ...or, for a call through a SIP trunk, the carrier's final response (`sip_503`). */
export type EndReason = (typeof EndReasons)[number] | `sip_${number}`;
export const SipEndReason = Type.String({ pattern: '^sip_[1-6][0-9]{2}$' });

export const CallDirections = ['inbound', 'outbound', 'internal'] as const;
export type CallDirection = (typeof CallDirections)[number];

export const CallStatuses = ['ringing', 'in-progress', 'completed'] as const;
export type CallStatus = (typeof CallStatuses)[number];

/** A persisted call (call detail record). Times are ISO 8601 UTC; durations are whole seconds. */
export const CallRecord = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  direction: Type.Union(CallDirections.map((d) => Type.Literal(d))),
  status: Type.Union(CallStatuses.map((s) => Type.Literal(s))),
  disposition: Type.Union([Type.Union(Dispositions.map((d) => Type.Literal(d))), Type.Null()]),
  end_reason: Type.Union([Type.Union(EndReasons.map((r) => Type.Literal(r))), SipEndReason, Type.Null()]),
  started_at: Type.String(),
  answered_at: Type.Union([Type.String(), Type.Null()]),
  ended_at: Type.Union([Type.String(), Type.Null()]),
  duration: Type.Integer(),
  talk_time: Type.Integer(),
});
export type CallRecord = Static<typeof CallRecord>;
