// SQLite-only accelerators for call history: per-day counters and an FTS5 trigram search index, kept by triggers.
//
// Everything SQLite-specific about call history lives in this file. Both structures are derived data, maintained
// inside SQLite by triggers on `calls` (so every writer, present or future, keeps them exact) and rebuilt from
// `calls` when installed. The query layer (call-history.ts) uses them only when `detectAccelerators` finds them;
// on any other dialect (PostgreSQL later) it falls back to portable queries over `calls` that return the same
// results, only slower on big tables. The PostgreSQL port would be: the same `call_counters` table kept by a
// plpgsql trigger, and a pg_trgm GIN index on id/from_number/to_number, which ILIKE '%term%' uses directly.
import { SqliteAdapter, sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';

/** `call_counters.outcome` of a call that has not ended yet (disposition NULL). */
export const LIVE_OUTCOME = 'LIVE';

/** The trigram tokenizer indexes nothing for shorter terms, so those take the portable LIKE path. */
export const FTS_MIN_TERM_CHARS = 3;

export const isSqlite = (db: Kysely<any>): boolean => db.getExecutor().adapter instanceof SqliteAdapter;

const TRIGGERS = [
  'calls_counters_insert',
  'calls_counters_update',
  'calls_counters_delete',
  'calls_search_insert',
  'calls_search_update',
  'calls_search_delete',
] as const;

// started_at is an ISO 8601 UTC string (Date#toISOString), so its first 10 characters are its UTC day.
const bump = (row: 'NEW' | 'OLD', sign: '+' | '-') => `
  INSERT INTO call_counters (instance_id, day, direction, outcome, call_count, duration_sum)
  VALUES (${row}.instance_id, substr(${row}.started_at, 1, 10), ${row}.direction, coalesce(${row}.disposition, '${LIVE_OUTCOME}'), ${sign}1, ${sign}${row}.duration)
  ON CONFLICT (instance_id, day, direction, outcome)
  DO UPDATE SET call_count = call_count + excluded.call_count, duration_sum = duration_sum + excluded.duration_sum;`;

// A contentful FTS5 table (its rowid is its own): `calls` has no INTEGER PRIMARY KEY, so its rowid may change on VACUUM.
// An entry is found again through a phrase query on its id column; ids under 3 characters (never snowflakes) by a scan.
const unindex = `
  DELETE FROM calls_search WHERE rowid IN (
    SELECT rowid FROM calls_search WHERE calls_search MATCH 'id : "' || replace(OLD.id, '"', '""') || '"'
  ) AND id = OLD.id;
  DELETE FROM calls_search WHERE length(OLD.id) < ${FTS_MIN_TERM_CHARS} AND id = OLD.id;`;
const index = `
  INSERT INTO calls_search (id, from_number, to_number) VALUES (NEW.id, NEW.from_number, NEW.to_number);`;

/** Creates (and fills from the existing calls) the counters table, the search index and their triggers. Used by migration 0003. */
export async function installAccelerators(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('call_counters')
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('direction', 'varchar(16)', (c) => c.notNull())
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('call_count', 'integer', (c) => c.notNull())
    .addColumn('duration_sum', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_counters_pk', ['instance_id', 'day', 'direction', 'outcome'])
    .modifyEnd(sql`WITHOUT ROWID`) // rows live in the primary key's b-tree: tallies read one index
    .execute();
  await sql`
    INSERT INTO call_counters (instance_id, day, direction, outcome, call_count, duration_sum)
    SELECT instance_id, substr(started_at, 1, 10), direction, coalesce(disposition, ${LIVE_OUTCOME}), count(*), sum(duration)
    FROM calls GROUP BY 1, 2, 3, 4`.execute(db);
  await sql`CREATE VIRTUAL TABLE calls_search USING fts5(id, from_number, to_number, tokenize = 'trigram')`.execute(db);
  await sql`INSERT INTO calls_search (id, from_number, to_number) SELECT id, from_number, to_number FROM calls`.execute(db);

  const body: Record<(typeof TRIGGERS)[number], string> = {
    calls_counters_insert: `AFTER INSERT ON calls BEGIN ${bump('NEW', '+')} END`,
    calls_counters_update: `AFTER UPDATE OF instance_id, started_at, direction, disposition, duration ON calls BEGIN ${bump('OLD', '-')} ${bump('NEW', '+')} END`,
    calls_counters_delete: `AFTER DELETE ON calls BEGIN ${bump('OLD', '-')} END`,
    calls_search_insert: `AFTER INSERT ON calls BEGIN ${index} END`,
    calls_search_update: `AFTER UPDATE OF id, from_number, to_number ON calls BEGIN ${unindex} ${index} END`,
    calls_search_delete: `AFTER DELETE ON calls BEGIN ${unindex} END`,
  };
  for (const name of TRIGGERS) await sql.raw(`CREATE TRIGGER ${name} ${body[name]}`).execute(db);
}

export async function dropAccelerators(db: Kysely<any>): Promise<void> {
  for (const name of TRIGGERS) await sql.raw(`DROP TRIGGER IF EXISTS ${name}`).execute(db);
  await sql`DROP TABLE IF EXISTS calls_search`.execute(db);
  await sql`DROP TABLE IF EXISTS call_counters`.execute(db);
}

export interface Accelerators {
  /** `call_counters` is kept exact by its triggers: counts and stats by day/direction/outcome can come from it. */
  counters: boolean;
  /** `calls_search` (FTS5 trigram) holds every call's id, from_number and to_number. */
  search: boolean;
}

/** Which accelerators this database has (none unless it is SQLite with migration 0003 applied). */
export async function detectAccelerators(db: Kysely<any>): Promise<Accelerators> {
  if (!isSqlite(db)) return { counters: false, search: false };
  const { rows } = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'calls_%'`.execute(db);
  const has = new Set(rows.map((r) => r.name));
  return {
    counters: ['calls_counters_insert', 'calls_counters_update', 'calls_counters_delete'].every((t) => has.has(t)),
    search: ['calls_search_insert', 'calls_search_update', 'calls_search_delete'].every((t) => has.has(t)),
  };
}

/**
 * `calls.id IN (ids of calls whose id, from_number or to_number contain term, case-insensitively)`, through the
 * trigram index: a quoted FTS5 phrase is the term's trigrams at consecutive positions, i.e. the exact substring.
 * Only for terms of FTS_MIN_TERM_CHARS characters or more.
 */
export function searchIndexMatch(term: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`calls.id IN (SELECT calls_search.id FROM calls_search WHERE calls_search MATCH ${phraseOf(term)})`;
}

/** `term`'s FTS5 phrase: its trigrams at consecutive positions, i.e. the exact substring (case-insensitively). */
const phraseOf = (term: string): string => `"${term.replace(/"/g, '""')}"`;

/**
 * Calls (of every instance) whose id, from_number or to_number contain `term`: the index's own hit count, read from its
 * doclists without touching any row (a few ms for tens of thousands of hits). Only for FTS_MIN_TERM_CHARS or more.
 */
export async function countSearchHits(db: Kysely<any>, term: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM calls_search WHERE calls_search MATCH ${phraseOf(term)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
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

/**
 * A column reference no index may serve (SQLite's unary +). Without planner statistics SQLite takes `instance_id = ?`
 * for a handful of rows and would scan the whole instance probing the search hits; with the other terms kept off
 * their indexes, the hits drive the query through the primary key instead.
 */
export const unindexed = <T>(column: string): RawBuilder<T> => sql<T>`+${sql.ref(column)}`;
