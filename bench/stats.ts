// Percentiles and the fixed-width table rows the benchmark prints.

/** Nearest-rank percentile (p in 0..100) of the samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const LABEL_WIDTH = 50;

const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');

/** One latency row: `label   p50 x ms   p95 y ms   max z ms   n=…   note`. */
export function latencyRow(label: string, samples: readonly number[], note?: string): string {
  return latencyRowAt(label, samples, [50, 95], note);
}

/** A latency row with the given percentiles, then max and n: `label   p50 x ms   p99 y ms   max z ms   n=…   note`. */
export function latencyRowAt(label: string, samples: readonly number[], percentiles: readonly number[], note?: string): string {
  const cols = [
    label.padEnd(LABEL_WIDTH),
    ...percentiles.map((p) => `p${p} ${ms(percentile(samples, p)).padStart(9)}`),
    `max ${ms(samples.length ? Math.max(...samples) : NaN).padStart(9)}`,
    `n=${String(samples.length).padEnd(3)}`,
  ];
  if (note) cols.push(note);
  return cols.join('   ').trimEnd();
}

/** A free-form row aligned with the latency rows. */
export function row(label: string, value: string): string {
  return `${label.padEnd(LABEL_WIDTH)}${value}`;
}

export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export const bytes = (n: number): string => `${n.toLocaleString('en-US')} B`;
