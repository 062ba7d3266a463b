// Call history at scale: seeds 1,000,000 realistic call records on SQLite or PostgreSQL, then times GET /api/v1/calls, /calls/count and /calls/stats over HTTP.
import { performance } from 'node:perf_hooks';
import { ADMIN_KEY, startTestServer, type TestServer } from '../packages/server/test/helpers.js';
import { databaseEnv, type TestDialect } from '../packages/server/test/postgres.js';
import type { ImportedCall } from '../packages/server/src/store/call-history.js';
import { latencyRowAt, percentile, row } from './stats.js';

/** Targets: p99 of list and count requests, and of stats requests. */
export const LIST_TARGET_MS = 25;
export const STATS_TARGET_MS = 100;
const DAY_MS = 86_400_000;
const SNOWFLAKE_EPOCH = 1420070400000n;
const WARMUP = 5;

const EXTENSIONS = Array.from({ length: 80 }, (_, i) => String(1001 + i));
/** Seeded PRNG (Lehmer), so every run seeds the same mix of calls (their times follow the clock). */
function prng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 48271) % 2147483647;
    return s % n;
  };
}
const pick = <T>(rand: (n: number) => number, weighted: [T, number][]): T => {
  let r = rand(100);
  for (const [value, weight] of weighted) if ((r -= weight) < 0) return value;
  return weighted[weighted.length - 1]![0];
};

/** A contact centre's year: 80 agent extensions, 150,000 customer numbers (some call often), busier in office hours. */
export function* generateCalls(instanceId: string, total: number, now: number): Generator<ImportedCall> {
  const rand = prng(20260413);
  const customers = Array.from({ length: 150_000 }, () => `9${String(rand(1_000_000_000)).padStart(9, '0')}`);
  const customer = () => customers[rand(10) < 3 ? rand(2_000) : rand(customers.length)]!; // 30 % of calls: 2,000 regulars
  const agent = () => EXTENSIONS[rand(EXTENSIONS.length)]!;
  const start = now - 365 * DAY_MS;
  let seq = 0n;
  for (let i = 0; i < total; i++) {
    // Evenly spread over the year, with 70 % of the night calls moved into office hours (08-20 UTC) of their day.
    let t = start + Math.floor((i / total) * 365 * DAY_MS);
    const hour = Math.floor((t % DAY_MS) / 3_600_000);
    if ((hour < 8 || hour >= 20) && rand(10) < 7) {
      const moved = t - (t % DAY_MS) + (8 + rand(12)) * 3_600_000 + rand(3_600_000);
      if (moved < now) t = moved;
    }
    const direction = pick(rand, [['inbound', 55], ['outbound', 35], ['internal', 10]] as [string, number][]);
    const live = i >= total - 20;
    const disposition = live
      ? null
      : direction === 'inbound'
        ? pick(rand, [['ANSWERED', 75], ['NO ANSWER', 15], ['BUSY', 5], ['FAILED', 5]] as [string, number][])
        : direction === 'outbound'
          ? pick(rand, [['ANSWERED', 55], ['NO ANSWER', 30], ['BUSY', 10], ['FAILED', 5]] as [string, number][])
          : pick(rand, [['ANSWERED', 85], ['NO ANSWER', 10], ['BUSY', 3], ['FAILED', 2]] as [string, number][]);
    const ring = 3 + rand(25);
    const talk = disposition === 'ANSWERED' ? 10 + rand(170) + rand(170) + (rand(10) === 0 ? rand(1800) : 0) : 0;
    const duration = disposition === null ? 0 : ring + talk;
    const from = direction === 'inbound' ? customer() : agent();
    const to = direction === 'outbound' ? customer() : agent();
    seq = (seq + 1n) & 0xfffn;
    yield {
      id: (((BigInt(t) - SNOWFLAKE_EPOCH) << 22n) | (7n << 12n) | seq).toString(),
      instance_id: instanceId,
      from_user_id: '0',
      to_user_id: null,
      from_number: from,
      to_number: to,
      direction,
      status: disposition ? 'completed' : 'in-progress',
      disposition,
      end_reason: disposition === 'ANSWERED' ? 'hangup' : disposition === 'BUSY' ? 'busy' : disposition === 'FAILED' ? 'unavailable' : disposition ? 'timeout' : null,
      started_at: new Date(t).toISOString(),
      answered_at: disposition === 'ANSWERED' ? new Date(t + ring * 1000).toISOString() : null,
      ended_at: disposition ? new Date(t + duration * 1000).toISOString() : null,
      duration,
      talk_time: talk,
      recording_path: disposition === 'ANSWERED' && rand(10) < 9 ? `recordings/${i}.wav` : null,
    };
  }
}

interface Case {
  label: string;
  kind: 'list' | 'count' | 'stats';
  /** The path of request i (varied where a real dashboard would vary it). */
  path: (i: number) => string;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Seeds `rows` calls into a fresh in-process server on a fresh database of `dialect` (PostgreSQL: see test/postgres.ts,
 * ASTRAL_TEST_DATABASE_URL or a throwaway cluster), then runs `requests` sequential requests per case. `reuseUrl`: a
 * PostgreSQL database kept between runs instead, seeded only while it holds no calls (its calls' times follow the
 * clock of the run that seeded it).
 */
export async function runCallHistory(
  dialect: TestDialect,
  rows: number,
  requests: number,
  out: (line?: string) => void,
  track: (c: { close(): Promise<void> }) => void,
  reuseUrl?: string,
): Promise<string[]> {
  const t: TestServer = await startTestServer(reuseUrl !== undefined && dialect === 'postgres' ? { ASTRAL_DATABASE_URL: reuseUrl } : await databaseEnv(dialect));
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= t.close());
  track({ close });
  const { store, instanceId } = t.server;
  const now = Date.now();

  const seedStart = performance.now();
  const chunk = 100_000;
  const { held } = await store.db.selectFrom('calls').select((eb) => eb.fn.countAll<number | string>().as('held')).executeTakeFirstOrThrow();
  const calls = generateCalls(instanceId, rows, now);
  for (let done = Number(held) > 0 ? rows : 0; done < rows; done += chunk) {
    const part = (function* () {
      for (let k = 0; k < chunk; k++) {
        const next = calls.next();
        if (next.done) return;
        yield next.value;
      }
    })();
    await store.callHistory.importCalls(part);
    out(`  seeded ${Math.min(rows, done + chunk).toLocaleString('en-US')} calls (${((performance.now() - seedStart) / 1000).toFixed(1)} s)`);
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;

  // Values a dashboard would ask for: known customers and agents, week windows with partial days, number fragments.
  const rand = prng(7);
  const sample = await store.db.selectFrom('calls').select(['from_number', 'to_number']).where('direction', '=', 'inbound').limit(5000).execute();
  const customer = (i: number) => sample[(i * 37) % sample.length]!.from_number;
  const fragment = (i: number) => customer(i).slice(2, 7);
  const week = (i: number) => {
    const from = now - (30 + rand(300)) * DAY_MS;
    return `date_from=${new Date(from).toISOString().slice(0, 13)}:00:00Z&date_to=${isoDay(from + 6 * DAY_MS)}T${String(i % 24).padStart(2, '0')}:30`;
  };
  const cases: Case[] = [
    { label: 'list: no filter', kind: 'list', path: () => '/api/v1/calls' },
    { label: 'list: direction=inbound', kind: 'list', path: () => '/api/v1/calls?direction=inbound' },
    { label: 'list: disposition=BUSY', kind: 'list', path: () => '/api/v1/calls?disposition=BUSY' },
    { label: 'list: from=<customer>', kind: 'list', path: (i) => `/api/v1/calls?from=${customer(i)}` },
    { label: 'list: to=<agent extension>', kind: 'list', path: (i) => `/api/v1/calls?to=${EXTENSIONS[i % EXTENSIONS.length]}` },
    { label: 'list: date_from..date_to (a week)', kind: 'list', path: (i) => `/api/v1/calls?${week(i)}` },
    { label: 'list: search=<5 digits of a number>', kind: 'list', path: (i) => `/api/v1/calls?search=${fragment(i)}` },
    { label: 'list: search=<agent extension>', kind: 'list', path: (i) => `/api/v1/calls?search=${EXTENSIONS[i % EXTENSIONS.length]}` },
    { label: 'list: search=answer (a word)', kind: 'list', path: () => '/api/v1/calls?search=answer' },
    { label: 'list: offset=500000', kind: 'list', path: (i) => `/api/v1/calls?offset=${500_000 + i * 20}` },
    { label: 'list: outbound+ANSWERED+week, offset 100', kind: 'list', path: (i) => `/api/v1/calls?direction=outbound&disposition=ANSWERED&${week(i)}&offset=100` },
    { label: 'list: limit=200', kind: 'list', path: () => '/api/v1/calls?limit=200' },
    { label: 'count: no filter', kind: 'count', path: () => '/api/v1/calls/count' },
    { label: 'count: direction=outbound', kind: 'count', path: () => '/api/v1/calls/count?direction=outbound' },
    { label: 'count: date_from..date_to (a week)', kind: 'count', path: (i) => `/api/v1/calls/count?${week(i)}` },
    { label: 'count: from=<customer>', kind: 'count', path: (i) => `/api/v1/calls/count?from=${customer(i)}` },
    { label: 'count: search=<5 digits of a number>', kind: 'count', path: (i) => `/api/v1/calls/count?search=${fragment(i)}` },
    { label: 'stats: all time', kind: 'stats', path: () => '/api/v1/calls/stats' },
    { label: 'stats: date_from..date_to (a week)', kind: 'stats', path: (i) => `/api/v1/calls/stats?${week(i)}` },
  ];

  const seeding = Number(held) > 0
    ? `${Number(held).toLocaleString('en-US')} calls reused (BENCH_HISTORY_DATABASE_URL)`
    : `${rows.toLocaleString('en-US')} calls in ${seedSeconds.toFixed(1)} s (importCalls, 500-row inserts, ${chunk.toLocaleString('en-US')} per transaction)`;
  const lines = [row('seeding', seeding)];
  let missed = 0;
  for (const c of cases) {
    const samples: number[] = [];
    let matched = 0;
    for (let i = -WARMUP; i < requests; i++) {
      const path = c.path(Math.abs(i));
      const t0 = performance.now();
      const res = await fetch(t.url + path, { headers: { 'x-api-key': ADMIN_KEY } });
      const body = (await res.json()) as { total?: number; count?: number; total_calls?: number };
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      if (i >= 0) {
        samples.push(ms);
        matched += body.total ?? body.count ?? body.total_calls ?? 0;
      }
    }
    const target = c.kind === 'stats' ? STATS_TARGET_MS : LIST_TARGET_MS;
    const met = percentile(samples, 99) <= target;
    if (!met) missed++;
    const avg = Math.round(matched / samples.length).toLocaleString('en-US');
    lines.push(latencyRowAt(c.label, samples, [50, 99], `p99 <= ${target} ms: ${met ? 'met' : 'MISSED'}; ~${avg} matching`));
  }
  lines.push(row('targets', missed === 0 ? 'all met' : `${missed} of ${cases.length} missed`));
  await close();
  return lines;
}
