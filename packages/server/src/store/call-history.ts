// Call history queries for dashboards: filtered newest-first pages, counts and stats, plus bulk import of call records.
//
// Portable Kysely queries over `calls`; the per-day counters and the trigram search index of the database's dialect
// (call-history-index.ts) make big tables fast: counts and stats add up day counters (exact, kept by triggers) instead
// of counting rows, deep pages seek to the right day through them, and substring search goes through the index.
import { CallDirections, Dispositions, type CallDirection, type CallHistoryEntry, type CallStats, type Disposition } from '@astral/protocol';
import { sql, type Expression, type ExpressionBuilder, type Insertable, type Selectable, type SqlBool } from 'kysely';
import { containsPattern, FTS_MIN_TERM_CHARS, LIVE_OUTCOME, type Accelerators, type HistoryIndexes } from './call-history-index.js';
import type { Db } from './db.js';
import { historyIndexesOf } from './dialect.js';
import type { CallsTable, Database } from './schema.js';

/** Filters of the history list and count. Time bounds are ISO 8601 UTC strings in Date#toISOString form. */
export interface HistoryFilter {
  direction?: CallDirection;
  disposition?: Disposition;
  /** Exact from_number. */
  from?: string;
  /** Exact to_number. */
  to?: string;
  /** started_at >= this. */
  startedFrom?: string;
  /** started_at < this. */
  startedBefore?: string;
  /** Case-insensitive substring of id, from_number, to_number, disposition or direction. */
  search?: string;
}

const COLUMNS = ['id', 'from_number', 'to_number', 'direction', 'status', 'disposition', 'duration', 'talk_time', 'started_at', 'ended_at', 'recording_path'] as const;
export type HistoryRow = Pick<Selectable<CallsTable>, (typeof COLUMNS)[number]>;

/** A call record to import: the columns of `calls`, with the optional ones defaulted. */
export type ImportedCall = Pick<Insertable<CallsTable>, 'id' | 'instance_id' | 'from_number' | 'to_number' | 'direction' | 'started_at'> &
  Partial<Omit<Insertable<CallsTable>, 'id' | 'instance_id' | 'from_number' | 'to_number' | 'direction' | 'started_at'>>;

export const toHistoryEntry = (r: HistoryRow): CallHistoryEntry => ({
  id: r.id,
  from_number: r.from_number,
  to_number: r.to_number,
  direction: r.direction as CallDirection,
  status: (r.disposition as Disposition | null) ?? (r.status === 'in-progress' ? 'IN PROGRESS' : 'RINGING'),
  duration: r.duration,
  talk_time: r.talk_time,
  started_at: r.started_at,
  ended_at: r.ended_at,
  recording_url: r.recording_path != null ? `/api/v1/calls/${r.id}/recording` : null,
});

/** Pages at least this deep seek to their first day through the day counters instead of skipping rows one by one. */
const SEEK_MIN_OFFSET = 1000;
const DAY_MS = 86_400_000;
const IMPORT_BATCH = 500;
const NO_ACCELERATORS: Accelerators = { counters: false, search: false };

/** Calls (and summed durations) of one group: by direction and outcome, or by day and direction. */
interface Tally {
  day: string;
  direction: string;
  outcome: string;
  calls: number;
  duration: number;
}
type TallyBy = 'outcome' | 'day';

const dayStart = (day: string): string => `${day}T00:00:00.000Z`;
const startsDay = (instant: string): boolean => instant.endsWith('T00:00:00.000Z');
const addDays = (day: string, n: number): string => new Date(Date.parse(dayStart(day)) + n * DAY_MS).toISOString().slice(0, 10);
const sumCalls = (rows: readonly Tally[]): number => rows.reduce((n, r) => n + r.calls, 0);

/** The enumerated values a search term matches as a substring; id and the numbers need a text match. */
interface SearchTerms {
  text: string;
  directions: CallDirection[];
  dispositions: Disposition[];
}
const searchTerms = (term: string): SearchTerms => {
  const lc = term.toLowerCase();
  return {
    text: term,
    directions: CallDirections.filter((d) => d.includes(lc)),
    dispositions: Dispositions.filter((d) => d.toLowerCase().includes(lc)),
  };
};

const usesSearchIndex = (term: string, acc: Accelerators): boolean => acc.search && [...term].length >= FTS_MIN_TERM_CHARS;

/**
 * A search whose hits the trigram index gives (no from/to, no enumerated value to OR with): the query can be driven by
 * its hits, and with no other filter the index may count them (HistoryIndexes.countSearchHits).
 */
const indexedTextSearch = (f: HistoryFilter, acc: Accelerators): f is HistoryFilter & { search: string } => {
  if (f.search === undefined || f.from !== undefined || f.to !== undefined || !usesSearchIndex(f.search, acc)) return false;
  const s = searchTerms(f.search);
  return s.directions.length === 0 && s.dispositions.length === 0;
};

/**
 * A page of a search with many hits is found sooner by walking the newest-first index and matching each row with LIKE
 * (which stops after offset + limit matches) than by looking up every hit and sorting them: when the rows walked,
 * about (offset + limit) × calls / hits, stay under this many times the hits. Only for printable ASCII terms, where
 * LIKE's case folding and the trigram index's agree.
 */
const WALK_PER_HIT = 2;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

type Eb = ExpressionBuilder<Database, 'calls'>;
/** `all`: the whole search predicate; `text-only`: only rows matching the text and none of the matched enumerated values. */
type SearchPart = 'all' | 'text-only';
/** How the text part of a search is matched: through the trigram index when the term allows, or by LIKE on each row. */
type TextMatch = 'index' | 'like';

export class CallHistoryStore {
  private accelerators?: Promise<Accelerators>;
  private readonly indexes: HistoryIndexes;

  /** `accelerators` forces a choice (tests compare the portable path); by default they are detected on first use. */
  constructor(
    private readonly db: Db,
    accelerators?: Accelerators,
  ) {
    this.indexes = historyIndexesOf(db);
    if (accelerators) this.accelerators = Promise.resolve(accelerators);
  }

  private accel(): Promise<Accelerators> {
    return (this.accelerators ??= this.indexes.detect(this.db));
  }

  /** One page, newest first (started_at, then id, descending), and the number of calls matching the filter. */
  async list(instanceId: string, f: HistoryFilter, limit: number, offset: number): Promise<{ rows: HistoryRow[]; total: number }> {
    const acc = await this.accel();
    let total: number;
    let scanned: number | undefined;
    let before = f.startedBefore;
    let skip = offset;
    if (acc.counters && offset >= SEEK_MIN_OFFSET && f.from === undefined && f.to === undefined && f.search === undefined) {
      // Days newest first with their matching calls: the page starts in the day where the running count passes offset.
      const perDay = new Map<string, number>();
      for (const t of await this.tally(instanceId, f, 'day')) perDay.set(t.day, (perDay.get(t.day) ?? 0) + t.calls);
      const days = [...perDay].sort(([a], [b]) => (a < b ? 1 : -1));
      total = days.reduce((n, [, calls]) => n + calls, 0);
      let newer = 0;
      for (const [day, calls] of days) {
        if (newer + calls > offset) {
          const dayEnd = dayStart(addDays(day, 1));
          if (before === undefined || dayEnd < before) before = dayEnd;
          skip = offset - newer;
          break;
        }
        newer += calls;
      }
    } else {
      // What a walk of the newest-first index would scan (the filter without its search), counted beside the hits.
      const mayWalk = acc.counters && indexedTextSearch(f, acc) && PRINTABLE_ASCII.test(f.search);
      [total, scanned] = await Promise.all([this.count(instanceId, f), mayWalk ? this.count(instanceId, { ...f, search: undefined }) : undefined]);
    }
    if (offset >= total) return { rows: [], total };
    let text: TextMatch = 'index';
    if (scanned !== undefined && (skip + limit) * scanned <= WALK_PER_HIT * total * total) text = 'like';
    const rows = await this.db
      .selectFrom('calls')
      .select(COLUMNS)
      .where((eb) => this.where(eb, instanceId, { ...f, startedBefore: before }, 'all', acc, text))
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(skip)
      .execute();
    return { rows, total };
  }

  /** Calls matching the filter. */
  async count(instanceId: string, f: HistoryFilter): Promise<number> {
    const acc = await this.accel();
    if (acc.counters && f.from === undefined && f.to === undefined) {
      if (f.search === undefined) return sumCalls(await this.tally(instanceId, f, 'outcome'));
      const unfiltered = f.direction === undefined && f.disposition === undefined && f.startedFrom === undefined && f.startedBefore === undefined;
      const hits = unfiltered && indexedTextSearch(f, acc) ? await this.indexes.countSearchHits(this.db, instanceId, f.search) : undefined;
      if (hits !== undefined) return hits;
      const s = searchTerms(f.search);
      if (s.directions.length > 0 || s.dispositions.length > 0) {
        // Rows matching an enumerated value come from the counters; the text match counts only the others.
        const groups = await this.tally(instanceId, f, 'outcome');
        const byValue = groups.filter((g) => s.directions.includes(g.direction as CallDirection) || s.dispositions.includes(g.outcome as Disposition));
        return sumCalls(byValue) + (await this.countRows(instanceId, f, 'text-only', acc));
      }
    }
    return this.countRows(instanceId, f, 'all', acc);
  }

  /**
   * Dashboard totals over [from, before) (all time when unset) and the last 7 UTC days including `now`'s.
   * missed = ended and not ANSWERED; avg_duration = rounded mean duration of ANSWERED calls (0 when none).
   */
  async stats(instanceId: string, range: { from?: string; before?: string }, now = new Date()): Promise<CallStats> {
    const today = now.toISOString().slice(0, 10);
    const firstDay = addDays(today, -6);
    const [groups, week] = await Promise.all([
      this.tally(instanceId, { startedFrom: range.from, startedBefore: range.before }, 'outcome'),
      this.tally(instanceId, { startedFrom: dayStart(firstDay), startedBefore: dayStart(addDays(today, 1)) }, 'day'),
    ]);
    const where = (pred: (g: Tally) => boolean) => groups.filter(pred);
    const answered = where((g) => g.outcome === 'ANSWERED');
    const answeredCalls = sumCalls(answered);
    const weekly = Array.from({ length: 7 }, (_, i) => {
      const date = addDays(firstDay, i);
      const of = (direction: CallDirection) => sumCalls(week.filter((g) => g.day === date && g.direction === direction));
      return { date, inbound: of('inbound'), outbound: of('outbound') };
    });
    return {
      total_calls: sumCalls(groups),
      inbound: sumCalls(where((g) => g.direction === 'inbound')),
      outbound: sumCalls(where((g) => g.direction === 'outbound')),
      internal: sumCalls(where((g) => g.direction === 'internal')),
      answered: answeredCalls,
      missed: sumCalls(where((g) => g.outcome !== 'ANSWERED' && g.outcome !== LIVE_OUTCOME)),
      avg_duration: answeredCalls === 0 ? 0 : Math.round(answered.reduce((n, g) => n + g.duration, 0) / answeredCalls),
      weekly,
    };
  }

  /** Bulk insert of call records (CDR import, tests, the benchmark): one transaction, multi-row inserts. */
  async importCalls(calls: Iterable<ImportedCall>): Promise<number> {
    let n = 0;
    await this.db.transaction().execute(async (trx) => {
      await this.indexes.importing(trx);
      let batch: Insertable<CallsTable>[] = [];
      const flush = async () => {
        if (batch.length > 0) await trx.insertInto('calls').values(batch).execute();
        batch = [];
      };
      for (const c of calls) {
        batch.push({
          from_user_id: '0',
          to_user_id: null,
          status: c.disposition ? 'completed' : 'ringing',
          disposition: null,
          end_reason: null,
          answered_at: null,
          ended_at: null,
          duration: 0,
          talk_time: 0,
          channel_id: null,
          recording_path: null,
          ...c,
        });
        n++;
        if (batch.length === IMPORT_BATCH) await flush();
      }
      await flush();
    });
    await this.indexes.imported(this.db, n);
    return n;
  }

  /** The WHERE clause of a filter; `search` as a whole or, for split counts, only its text part (see count). */
  private where(eb: Eb, instanceId: string, f: HistoryFilter, part: SearchPart, acc: Accelerators, text: TextMatch = 'index'): Expression<SqlBool> {
    // A selective search (index hits, no from/to, no enumerated value to OR with) drives the query: see HistoryIndexes.unindexed.
    const s = f.search === undefined ? undefined : searchTerms(f.search);
    const drive = text === 'index' && s !== undefined && usesSearchIndex(s.text, acc) && f.from === undefined && f.to === undefined &&
      (part === 'text-only' || (s.directions.length === 0 && s.dispositions.length === 0));
    const col = (name: `calls.${'instance_id' | 'direction' | 'disposition' | 'from_number' | 'to_number' | 'started_at'}`) =>
      drive ? this.indexes.unindexed<string>(name) : name;
    const c: Expression<SqlBool>[] = [eb(col('calls.instance_id'), '=', instanceId)];
    if (f.direction !== undefined) c.push(eb(col('calls.direction'), '=', f.direction));
    if (f.disposition !== undefined) c.push(eb(col('calls.disposition'), '=', f.disposition));
    if (f.from !== undefined) c.push(eb(col('calls.from_number'), '=', f.from));
    if (f.to !== undefined) c.push(eb(col('calls.to_number'), '=', f.to));
    if (f.startedFrom !== undefined) c.push(eb(col('calls.started_at'), '>=', f.startedFrom));
    if (f.startedBefore !== undefined) c.push(eb(col('calls.started_at'), '<', f.startedBefore));
    if (s !== undefined) {
      const match = this.textMatch(eb, s.text, text === 'index' && usesSearchIndex(s.text, acc), drive ? instanceId : undefined);
      if (part === 'all') {
        const any: Expression<SqlBool>[] = [match];
        if (s.directions.length > 0) any.push(eb('calls.direction', 'in', s.directions));
        if (s.dispositions.length > 0) any.push(eb('calls.disposition', 'in', s.dispositions));
        c.push(eb.or(any));
      } else {
        c.push(match);
        if (s.directions.length > 0) c.push(eb('calls.direction', 'not in', s.directions));
        if (s.dispositions.length > 0) c.push(eb.or([eb('calls.disposition', 'is', null), eb('calls.disposition', 'not in', s.dispositions)]));
      }
    }
    return eb.and(c);
  }

  /** id, from_number or to_number contains the term, case-insensitively: the trigram index, or lower() LIKE on any dialect. */
  private textMatch(eb: Eb, term: string, useIndex: boolean, drivesFor: string | undefined): Expression<SqlBool> {
    if (useIndex) return this.indexes.searchMatch(term, drivesFor);
    const pattern = containsPattern(term.toLowerCase());
    const like = (col: 'calls.id' | 'calls.from_number' | 'calls.to_number') => sql<SqlBool>`lower(${sql.ref(col)}) LIKE ${pattern} ESCAPE '\\'`;
    return eb.or([like('calls.id'), like('calls.from_number'), like('calls.to_number')]);
  }

  private async countRows(instanceId: string, f: HistoryFilter, part: SearchPart, acc: Accelerators): Promise<number> {
    const row = await this.db
      .selectFrom('calls')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where((eb) => this.where(eb, instanceId, f, part, acc))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Calls started in the filter's range, restricted to its direction and disposition (its other fields are ignored),
   * grouped by direction and outcome or by day and direction. With counters: whole UTC days from `call_counters`,
   * the partial first and last days from `calls`; without: all from `calls`.
   */
  private async tally(instanceId: string, f: HistoryFilter, by: TallyBy): Promise<Tally[]> {
    const { startedFrom: from, startedBefore: before } = f;
    const acc = await this.accel();
    if (!acc.counters) return this.tallyRows(instanceId, f, from, before, by);
    const firstDay = from === undefined ? undefined : startsDay(from) ? from.slice(0, 10) : addDays(from.slice(0, 10), 1);
    const endDay = before?.slice(0, 10);
    if (firstDay !== undefined && endDay !== undefined && firstDay >= endDay) return this.tallyRows(instanceId, f, from, before, by);
    const parts = [this.tallyCounters(instanceId, f, firstDay, endDay, by)];
    if (from !== undefined && !startsDay(from)) parts.push(this.tallyRows(instanceId, f, from, dayStart(firstDay!), by));
    if (before !== undefined && !startsDay(before)) parts.push(this.tallyRows(instanceId, f, dayStart(endDay!), before, by));
    const merged = new Map<string, Tally>();
    for (const t of (await Promise.all(parts)).flat()) {
      const key = `${t.day}|${t.direction}|${t.outcome}`;
      const m = merged.get(key);
      if (m) {
        m.calls += t.calls;
        m.duration += t.duration;
      } else merged.set(key, { ...t });
    }
    return [...merged.values()];
  }

  private async tallyCounters(instanceId: string, f: HistoryFilter, firstDay: string | undefined, endDay: string | undefined, by: TallyBy): Promise<Tally[]> {
    const rows = await this.db
      .selectFrom('call_counters')
      .select((eb) => ['direction', eb.fn.sum<number | string>('call_count').as('calls'), eb.fn.sum<number | string>('duration_sum').as('duration')])
      .$if(by === 'day', (q) => q.select('day').groupBy(['day', 'direction']))
      .$if(by === 'outcome', (q) => q.select('outcome').groupBy(['direction', 'outcome']))
      .where('instance_id', '=', instanceId)
      .$if(firstDay !== undefined, (q) => q.where('day', '>=', firstDay!))
      .$if(endDay !== undefined, (q) => q.where('day', '<', endDay!))
      .$if(f.direction !== undefined, (q) => q.where('direction', '=', f.direction!))
      .$if(f.disposition !== undefined, (q) => q.where('outcome', '=', f.disposition!))
      .execute();
    return rows.map((r) => ({ day: r.day ?? '', direction: r.direction, outcome: r.outcome ?? '', calls: Number(r.calls), duration: Number(r.duration) }));
  }

  private async tallyRows(instanceId: string, f: HistoryFilter, from: string | undefined, before: string | undefined, by: TallyBy): Promise<Tally[]> {
    const day = sql<string>`substr(${sql.ref('started_at')}, 1, 10)`;
    const outcome = sql<string>`coalesce(${sql.ref('disposition')}, ${sql.lit(LIVE_OUTCOME)})`; // a literal: GROUP BY must repeat it exactly
    const range: HistoryFilter = { direction: f.direction, disposition: f.disposition, startedFrom: from, startedBefore: before };
    const rows = await this.db
      .selectFrom('calls')
      .select((eb) => ['direction', eb.fn.countAll<number | string>().as('calls'), eb.fn.sum<number | string>('duration').as('duration')])
      .$if(by === 'day', (q) => q.select(day.as('day')).groupBy([day, 'direction']))
      .$if(by === 'outcome', (q) => q.select(outcome.as('outcome')).groupBy(['direction', outcome]))
      .where((eb) => this.where(eb, instanceId, range, 'all', NO_ACCELERATORS))
      .execute();
    return rows.map((r) => ({ day: r.day ?? '', direction: r.direction, outcome: r.outcome ?? '', calls: Number(r.calls), duration: Number(r.duration) }));
  }
}
