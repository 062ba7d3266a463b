// What call history's accelerators (day counters and a substring search index) offer, whichever dialect keeps them.
//
// Both are derived data kept exact by triggers on `calls` (so every writer, present or future, keeps them right) and
// rebuilt from `calls` when installed: call-history-sqlite.ts (FTS5 trigram) and call-history-postgres.ts (pg_trgm on ids and numbers)
// implement them. The query layer (call-history.ts) uses them only where `detect` finds them; without them it runs
// portable queries over `calls` that return the same results, only slower on big tables.
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';

/** `call_counters.outcome` of a call that has not ended yet (disposition NULL). */
export const LIVE_OUTCOME = 'LIVE';

/** Trigram indexes find nothing (SQLite) or everything (PostgreSQL) for shorter terms, so those take the portable LIKE path. */
export const FTS_MIN_TERM_CHARS = 3;

/**
 * The day counters' table, keyed by instance, day, direction and outcome; `count` is the dialect's integer type for the
 * tallies, `end` what the dialect adds to the table (SQLite: WITHOUT ROWID).
 */
export function createCounterTable(db: Kysely<any>, count: 'integer' | 'bigint', end?: RawBuilder<unknown>) {
  const table = db.schema
    .createTable('call_counters')
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('direction', 'varchar(16)', (c) => c.notNull())
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('call_count', count, (c) => c.notNull())
    .addColumn('duration_sum', count, (c) => c.notNull())
    .addPrimaryKeyConstraint('call_counters_pk', ['instance_id', 'day', 'direction', 'outcome']);
  return (end ? table.modifyEnd(end) : table).execute();
}

export interface Accelerators {
  /** `call_counters` is kept exact by its triggers: counts and stats by day/direction/outcome can come from it. */
  counters: boolean;
  /** The trigram search index finds every call by its id, from_number and to_number. */
  search: boolean;
}

export interface HistoryIndexes {
  /** Creates (and fills from the existing calls) the counters table, the search index and their triggers. Migration 0003. */
  install(db: Kysely<any>): Promise<void>;
  drop(db: Kysely<any>): Promise<void>;
  /** Migration 0010: the search index rebuilt from the calls in its present shape where the dialect changed it (PostgreSQL). */
  upgradeSearch(db: Kysely<any>): Promise<void>;
  /** Migration 0012 (`cover`) and its down: the indexes countSearchHits reads widened where the dialect needs it (PostgreSQL). */
  coverSearchCount(db: Kysely<any>, cover: boolean): Promise<void>;
  /** Which accelerators this database has. */
  detect(db: Kysely<any>): Promise<Accelerators>;
  /**
   * Calls whose id, from_number or to_number contain `term`, case-insensitively, through the index (FTS_MIN_TERM_CHARS or
   * more). `drivesFor`: the instance of a selective search whose hits should drive the query (see unindexed), undefined
   * where the match only filters the rows the query walks.
   */
  searchMatch(term: string, drivesFor: string | undefined): RawBuilder<SqlBool>;
  /** Calls of `instanceId` matching searchMatch(term), or undefined where the index cannot tell one instance's calls apart (then count rows). */
  countSearchHits(db: Kysely<any>, instanceId: string, term: string): Promise<number | undefined>;
  /** A reference to `column` that no index serves, where the dialect's planner needs telling that a search drives the query. */
  unindexed<T>(column: string): RawBuilder<T>;
  /** After a bulk import of `rows` calls: the upkeep the dialect needs at once (PostgreSQL: vacuum and planner statistics). */
  /** Inside a bulk import's transaction, before its rows: what lets `imported`'s upkeep see them (PostgreSQL: a flushed commit). */
  importing(trx: Kysely<any>): Promise<void>;
  imported(db: Kysely<any>, rows: number): Promise<void>;
}

/**
 * Whether `instanceId` holds every call in the table (no other instance has a call in `call_counters`), so that
 * countSearchHits is that instance's count exactly.
 */
export async function holdsAllCalls(db: Kysely<any>, instanceId: string): Promise<boolean> {
  const other = (cmp: '<' | '>') =>
    sql<{ one: number }>`SELECT 1 AS one FROM call_counters WHERE instance_id ${sql.raw(cmp)} ${instanceId} AND call_count <> 0 LIMIT 1`.execute(db);
  const [below, above] = await Promise.all([other('<'), other('>')]);
  return below.rows.length === 0 && above.rows.length === 0;
}

/** A LIKE pattern matching `term` anywhere, its wildcards escaped with a backslash (`ESCAPE '\'`). */
export const containsPattern = (term: string): string => `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
