// runPreflight: the connection test behind `client.preflight()` — samples a microphone loopback through the SFU once a
// second and turns the samples into a Twilio-style report (RTT, jitter, loss, MOS, ICE candidates, verdict). Loaded on demand.
import { callQualityOf, QualityMonitor, sampleBetween, type QualitySample, type QualityWarningName } from './call-quality.js';
import type { CallStats, PreflightFigure, PreflightOptions, PreflightProgress, PreflightReport } from './types.js';

export const DEFAULT_PREFLIGHT_MS = 8000;
const MIN_PREFLIGHT_MS = 2000;
const SAMPLE_MS = 1000;

/** What the test runs on: the loopback MediaSession.loopback() opened, and whether the phone is still free for it. */
export interface PreflightLink {
  stats(): Promise<CallStats>;
  /** False once the phone left ready (a call, a lost connection): the test is abandoned. */
  stillIdle(): boolean;
}

function figure(values: number[]): PreflightFigure | null {
  if (values.length === 0) return null;
  return { min: Math.min(...values), average: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

/** Builds the report from the samples and the last cumulative reading. */
export function preflightReport(samples: QualitySample[], last: CallStats, warnings: QualityWarningName[], durationMs: number): PreflightReport {
  const mos = figure(samples.map((s) => s.mos).filter((m): m is number => m !== null));
  const due = last.packetsReceived + last.packetsLost;
  return {
    callQuality: callQualityOf(mos?.average ?? null),
    mos,
    rtt: figure(samples.map((s) => s.rttMs)),
    jitter: figure(samples.map((s) => s.jitterMs)),
    packetLoss: due > 0 ? (100 * last.packetsLost) / due : 100,
    packetsSent: last.packetsSent,
    packetsReceived: last.packetsReceived,
    codec: last.codec,
    iceCandidates: last.iceCandidates,
    isTurnRequired: last.iceCandidates?.local === 'relay' || last.iceCandidates?.remote === 'relay',
    warnings,
    durationMs,
  };
}

/** Samples `link` every second for the test's duration, reporting progress; rejects (invalid_state) when the phone leaves ready meanwhile. */
export async function runPreflight(
  link: PreflightLink,
  options: PreflightOptions,
  progress: (p: PreflightProgress) => void,
  fail: (code: string, message: string) => Error,
): Promise<PreflightReport> {
  const durationMs = Math.max(MIN_PREFLIGHT_MS, options.durationMs ?? DEFAULT_PREFLIGHT_MS);
  const raised = new Set<QualityWarningName>();
  const monitor = new QualityMonitor((up, w) => up && raised.add(w.name));
  const samples: QualitySample[] = [];
  const startedAt = Date.now();
  let prev = await link.stats();
  while (Date.now() - startedAt < durationMs) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    if (!link.stillIdle()) throw fail('invalid_state', 'the phone left ready during the preflight (a call, or a lost connection)');
    const cur = await link.stats();
    const sample = sampleBetween(prev, cur, false);
    prev = cur;
    // The first second carries ICE/DTLS set-up and the jitter buffer filling: not the network's steady state.
    if (Date.now() - startedAt > SAMPLE_MS * 1.5) {
      samples.push(sample);
      monitor.push(sample);
    }
    progress({ elapsedMs: Math.min(durationMs, Date.now() - startedAt), durationMs, sample });
  }
  return preflightReport(samples, prev, [...raised], Date.now() - startedAt);
}
