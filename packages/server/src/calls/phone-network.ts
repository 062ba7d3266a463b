// The phone network as call control sees it: which trunk a call goes out on, and ringing a phone number as a leg of a call.
import type { CallCodec, PartyInfo } from '@astral/protocol';
import type { Call } from './call.js';
import type { RingOutcome } from './ringing.js';

export interface OutboundTrunk {
  id: string;
  name: string;
  /** What widgets in the call send: the trunk's preferred codec, so G.711 flows end to end. */
  codec: CallCodec;
  callerId: string | null;
}

export interface PhoneNetwork {
  /** The named trunk, or the instance's default; undefined when there is none. */
  trunkFor(instanceId: string, name?: string): Promise<OutboundTrunk | undefined>;
  /** Rings a phone number through a trunk as one more leg of the call (the one ring operation underneath). */
  ring(call: Call, number: string, opts: { trunk: OutboundTrunk; callerId?: string; timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome>;
}

/** What a dialled destination must look like to go out to the phone network: `+` and 7-15 digits, or digits longer than any extension. */
export function looksLikePhoneNumber(destination: string, longestExtension: number): boolean {
  return /^\+[0-9]{7,15}$/.test(destination) || (/^[0-9]{3,20}$/.test(destination) && destination.length > longestExtension);
}

/** The callee a widget sees while a phone number rings. */
export const phoneParty = (number: string): PartyInfo => ({ userId: `pstn:${number}`, identity: number, displayName: number, extension: null });
