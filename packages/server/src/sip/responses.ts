// How SIP final responses and call outcomes map onto each other (a carrier's 486 is BUSY; our NO ANSWER is their 480).
import type { Disposition, EndReason } from '@astral/protocol';
import type { Refusal } from '../calls/ringing.js';

/** A carrier's final failure as a ring outcome: 486/600 busy, 603 declined, 408/480/487 no answer, the rest failed with the code. */
export function refusalOf(status: number): Refusal {
  if (status === 486 || status === 600) return { result: 'busy', reason: 'busy' };
  if (status === 603) return { result: 'declined', reason: 'declined' };
  if (status === 408 || status === 480 || status === 487) return { result: 'no-answer', reason: `sip_${status}` };
  return { result: 'failed', reason: `sip_${status}` };
}

/** The final response an unanswered inbound INVITE gets when its call ends that way. */
export function rejectStatusOf(disposition: Disposition, reason: EndReason): number {
  if (disposition === 'BUSY') return 486; // busy or declined: what desk phones answer when the user rejects
  if (disposition === 'NO ANSWER') return reason === 'cancelled' ? 487 : 480;
  if (reason === 'media_failed') return 488;
  const sip = /^sip_([0-9]{3})$/.exec(reason);
  return sip ? Number(sip[1]) : 480;
}
