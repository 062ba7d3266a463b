// Drives N sequential alice→bob calls between two <astral-phone> pages and collects per-call timings.
import type { PhonePage } from '../test/helpers/phone.js';
import { answer, armIncoming, armMedia, dial, rejectRoundTrip, stopPolling, waitIncoming, waitMedia, type Mark, type MediaMarks } from './probes.js';

/** Longest wait for any one step of a call before it counts as failed. */
const STEP_TIMEOUT_MS = 10_000;

export interface Phones {
  alice: PhonePage;
  bob: PhonePage;
}

/** One side's answer-to-media figures: to the consume offer, first delivered frame, first getStats() packet. */
export interface SideSamples {
  offer: number[];
  frame: number[];
  stats: number[];
}

export interface CallSamples {
  /** call() → caller client 'ringing' (caller's performance.now()). */
  callerRinging: number[];
  /** call() → call() promise resolved (the dial ack, caller's performance.now()). */
  dialAck: number[];
  /** call() in caller page → 'incoming' in callee page (Date.now() in both pages). */
  calleeIncoming: number[];
  /** answer() → callee's first inbound media (callee's performance.now()). */
  calleeHears: SideSamples;
  /** answer() in callee page → caller's first inbound media (Date.now() in both pages). */
  callerHears: SideSamples;
  completed: number;
  failures: string[];
}

const side = (): SideSamples => ({ offer: [], frame: [], stats: [] });

export const emptySamples = (): CallSamples => ({
  callerRinging: [],
  dialAck: [],
  calleeIncoming: [],
  calleeHears: side(),
  callerHears: side(),
  completed: 0,
  failures: [],
});

const fmt = (v: number | null | undefined): string => (v == null ? '     —' : v.toFixed(1).padStart(6));

/** Pushes one side's deltas from `from` (perf or wall clock); returns them, or the problems. */
function record(into: SideSamples, marks: MediaMarks, from: Mark, clock: 'perf' | 'wall', who: string, problems: string[]): (number | null)[] {
  const delta = (m: Mark | undefined): number | null => (m ? m[clock] - from[clock] : null);
  const [offer, frame, stats] = [delta(marks.offer), delta(marks.frame), delta(marks.stats)];
  if (offer !== null) into.offer.push(offer);
  if (frame !== null) into.frame.push(frame);
  if (stats !== null) into.stats.push(stats);
  if (frame === null || stats === null) problems.push(`${who} got no inbound audio within ${STEP_TIMEOUT_MS} ms of answer()`);
  return [offer, frame, stats];
}

/** One measured call; pushes what it measured and returns problems (empty when the call went through). */
async function oneCall({ alice, bob }: Phones, s: CallSamples): Promise<{ problems: string[]; line: string }> {
  const problems: string[] = [];
  await armIncoming(bob.page);
  const d = await dial(alice.page, 'bob', STEP_TIMEOUT_MS);
  if (d.ackMs !== null) s.dialAck.push(d.ackMs);
  if (d.ringMs !== null) s.callerRinging.push(d.ringMs);
  if (d.error) problems.push(d.error);
  if (d.callId === null) return { problems, line: 'dial failed' };

  const incomingWall = await waitIncoming(bob.page, STEP_TIMEOUT_MS);
  const incomingMs = incomingWall === null ? null : incomingWall - d.wall0;
  let line = `ack ${fmt(d.ackMs)}  ring ${fmt(d.ringMs)}  incoming ${fmt(incomingMs)}`;
  if (incomingMs === null) {
    problems.push(`callee saw no 'incoming' within ${STEP_TIMEOUT_MS} ms`);
    return { problems, line };
  }
  s.calleeIncoming.push(incomingMs);

  await Promise.all([armMedia(alice.page, STEP_TIMEOUT_MS), armMedia(bob.page, STEP_TIMEOUT_MS)]);
  const a = await answer(bob.page);
  if (a.error) problems.push(a.error);
  const [calleeMarks, callerMarks] = await Promise.all([waitMedia(bob.page, STEP_TIMEOUT_MS), waitMedia(alice.page, STEP_TIMEOUT_MS)]);
  await Promise.all([stopPolling(alice.page), stopPolling(bob.page)]);
  const callee = record(s.calleeHears, calleeMarks, a.at, 'perf', 'callee', problems);
  const caller = record(s.callerHears, callerMarks, a.at, 'wall', 'caller', problems);
  line += `  | callee offer/frame/stats ${callee.map(fmt).join(' ')}  | caller ${caller.map(fmt).join(' ')}  (ms)`;

  await alice.invoke('hangup');
  await Promise.all([alice.waitState('ready', STEP_TIMEOUT_MS), bob.waitState('ready', STEP_TIMEOUT_MS)]);
  return { problems, line };
}

/** Ends whatever is left of a failed call; reopens a phone that does not get back to 'ready'. */
async function recover(phones: Phones, reopen: (name: keyof Phones) => Promise<PhonePage>, log: (line: string) => void): Promise<void> {
  for (const name of ['alice', 'bob'] as const) {
    const phone = phones[name];
    await stopPolling(phone.page).catch(() => undefined);
    await phone.invoke('hangup').catch(() => undefined);
  }
  for (const name of ['alice', 'bob'] as const) {
    const ok = await phones[name].waitState('ready', STEP_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    if (ok) continue;
    log(`    (${name} did not return to 'ready'; reopening its page)`);
    await phones[name].close().catch(() => undefined);
    phones[name] = await reopen(name);
  }
}

/** Runs `n` sequential calls; a failed call is reported, cleaned up and the run continues. */
export async function runCalls(
  phones: Phones,
  n: number,
  reopen: (name: keyof Phones) => Promise<PhonePage>,
  log: (line: string) => void,
): Promise<CallSamples> {
  const s = emptySamples();
  for (let i = 1; i <= n; i++) {
    const tag = `  call ${String(i).padStart(2)}/${n}`;
    let result: { problems: string[]; line: string };
    try {
      result = await oneCall(phones, s);
    } catch (err) {
      result = { problems: [`harness step failed: ${String((err as Error).message ?? err).split('\n')[0]}`], line: 'aborted' };
    }
    if (result.problems.length === 0) {
      s.completed++;
      log(`${tag}  ${result.line}`);
      continue;
    }
    log(`${tag}  FAILED: ${result.problems.join('; ')}  [${result.line}]`);
    s.failures.push(`call ${i}: ${result.problems.join('; ')}`);
    await recover(phones, reopen, log);
  }
  return s;
}

/** Baseline: `n` call()s of an unknown destination from the caller page, each one signaling round trip. */
export async function runBaseline(alice: PhonePage, n: number): Promise<{ samples: number[]; failures: string[] }> {
  const samples: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await rejectRoundTrip(alice.page, `nobody-here-${i}`);
    if (r.error) failures.push(`baseline ${i + 1}: ${r.error}`);
    else samples.push(r.ms);
    await alice.waitState('ready', STEP_TIMEOUT_MS);
  }
  return { samples, failures };
}
