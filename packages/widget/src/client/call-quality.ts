// Call quality: the E-model MOS estimate, Twilio-compatible call warnings over a sliding window of 1 s stats samples
// (QualityMonitor: pure rules; QualityWatch: samples a live call), and the preflight verdict from a MOS.
import type { CallStats } from './types.js';

/** Twilio-compatible warning names (Twilio Voice SDK `call.on('warning')`). */
export type QualityWarningName = 'high-rtt' | 'high-jitter' | 'high-packet-loss' | 'low-mos' | 'constant-audio-input-level' | 'ice-connectivity-lost';

export interface QualityWarning {
  name: QualityWarningName;
  /** The figure that crossed (or came back under) the threshold: ms, %, MOS or level spread; absent for ice-connectivity-lost. */
  value?: number;
  threshold?: number;
}

/** One second of a call, as the warning rules read it. */
export interface QualitySample {
  rttMs: number;
  jitterMs: number;
  /** Share of the packets due in this interval that never arrived (%). */
  lossPercent: number;
  /** null when nothing arrived in the interval. */
  mos: number | null;
  /** Microphone level 0..1. */
  inputLevel: number;
  muted: boolean;
}

/** Twilio's verdict names: average MOS > 4.2 excellent, ≥ 4.1 great, ≥ 3.7 good, ≥ 3.1 fair, else degraded. */
export type CallQuality = 'excellent' | 'great' | 'good' | 'fair' | 'degraded' | 'unsupported';

const R0 = 94.768;

/** The E-model R-factor → MOS estimate Twilio uses, from RTT and jitter (ms) and packet loss (%); null when out of range. */
export function estimateMos(rttMs: number, jitterMs: number, lossPercent: number): number | null {
  if (![rttMs, jitterMs, lossPercent].every((v) => Number.isFinite(v) && v >= 0)) return null;
  const latency = rttMs + 2 * jitterMs + 10;
  let r = latency < 160 ? R0 - latency / 40 : latency < 1000 ? R0 - (latency - 120) / 10 : 0;
  r = lossPercent <= r / 2.5 ? Math.max(r - lossPercent * 2.5, 6.52) : 0;
  const mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
  return mos >= 1 && mos < 4.6 ? mos : null;
}

export function callQualityOf(averageMos: number | null): CallQuality {
  if (averageMos === null) return 'degraded';
  if (averageMos > 4.2) return 'excellent';
  if (averageMos >= 4.1) return 'great';
  if (averageMos >= 3.7) return 'good';
  if (averageMos >= 3.1) return 'fair';
  return 'degraded';
}

/**
 * A threshold warning is raised when RAISE_COUNT of the last WINDOW samples cross it, cleared when all of the last WINDOW
 * samples carry the figure (audio flowed) and none crosses.
 */
export const WINDOW = 5;
export const RAISE_COUNT = 3;
const THRESHOLDS: { name: QualityWarningName; value: (s: QualitySample) => number | null; threshold: number; above: boolean }[] = [
  { name: 'high-rtt', value: (s) => s.rttMs || null, threshold: 400, above: true },
  { name: 'high-jitter', value: (s) => s.jitterMs, threshold: 30, above: true },
  { name: 'high-packet-loss', value: (s) => s.lossPercent, threshold: 1, above: true },
  { name: 'low-mos', value: (s) => s.mos, threshold: 3.5, above: false },
];
/** constant-audio-input-level: the unmuted microphone's level varies by less than this (Twilio: 327.67 of 32767) over FLAT_SAMPLES. */
export const FLAT_SAMPLES = 10;
export const FLAT_MIN_SPREAD = 0.01;

const spread = (values: number[]) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
};

/** Raises and clears warnings from scripted or live samples; `onChange(true, w)` = raised, `(false, w)` = cleared. */
export class QualityMonitor {
  private samples: QualitySample[] = [];
  private readonly active = new Set<QualityWarningName>();

  constructor(private readonly onChange: (raised: boolean, warning: QualityWarning) => void) {}

  /** The warnings raised now. */
  get warnings(): QualityWarningName[] {
    return [...this.active];
  }

  push(sample: QualitySample): void {
    this.samples = [...this.samples, sample].slice(-Math.max(WINDOW, FLAT_SAMPLES));
    const recent = this.samples.slice(-WINDOW);
    for (const rule of THRESHOLDS) {
      const values = recent.map(rule.value).filter((v): v is number => v !== null);
      const crossing = values.filter((v) => (rule.above ? v > rule.threshold : v < rule.threshold)).length;
      const value = values.at(-1);
      if (crossing >= RAISE_COUNT) this.set(rule.name, true, value, rule.threshold);
      else if (crossing === 0 && values.length === WINDOW) this.set(rule.name, false, value, rule.threshold);
    }
    const levels = this.samples.slice(-FLAT_SAMPLES);
    if (sample.muted) this.set('constant-audio-input-level', false);
    else if (levels.length === FLAT_SAMPLES && !levels.some((s) => s.muted)) {
      const s = spread(levels.map((l) => l.inputLevel));
      this.set('constant-audio-input-level', s < FLAT_MIN_SPREAD, s, FLAT_MIN_SPREAD);
    }
  }

  /** The media path was lost (ICE restarts run) or is back. */
  setConnectivity(up: boolean): void {
    this.set('ice-connectivity-lost', !up);
  }

  /** Clears every raised warning (the call ended) and forgets the samples. */
  reset(): void {
    this.samples = [];
    for (const name of [...this.active]) this.set(name, false);
  }

  private set(name: QualityWarningName, raised: boolean, value?: number, threshold?: number): void {
    if (this.active.has(name) === raised) return;
    if (raised) this.active.add(name);
    else this.active.delete(name);
    this.onChange(raised, { name, ...(value !== undefined ? { value } : {}), ...(threshold !== undefined ? { threshold } : {}) });
  }
}

/** The sample between two cumulative stats readings (RTT and jitter as read now, loss over the interval). */
export function sampleBetween(prev: CallStats, cur: CallStats, muted: boolean): QualitySample {
  const received = Math.max(0, cur.packetsReceived - prev.packetsReceived);
  const lost = Math.max(0, cur.packetsLost - prev.packetsLost);
  const lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  const rttMs = cur.roundTripTime * 1000;
  const jitterMs = cur.jitter * 1000;
  return { rttMs, jitterMs, lossPercent, mos: received > 0 ? estimateMos(rttMs, jitterMs, lossPercent) : null, inputLevel: cur.inputLevel, muted };
}

/** Samples a live call's stats every second into a QualityMonitor. */
export class QualityWatch {
  readonly monitor: QualityMonitor;
  private timer: ReturnType<typeof setInterval> | null = null;
  private prev: CallStats | null = null;

  constructor(
    private readonly stats: () => Promise<CallStats>,
    private readonly muted: () => boolean,
    onChange: (raised: boolean, warning: QualityWarning) => void,
    private readonly intervalMs = 1000,
  ) {
    this.monitor = new QualityMonitor(onChange);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.prev = null;
    this.monitor.reset();
  }

  private async tick(): Promise<void> {
    const cur = await this.stats().catch(() => null);
    if (!cur || !this.timer) return;
    if (this.prev) this.monitor.push(sampleBetween(this.prev, cur, this.muted()));
    this.prev = cur;
  }
}
