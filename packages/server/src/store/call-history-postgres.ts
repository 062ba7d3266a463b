// PostgreSQL accelerators for call history: per-day counters kept by statement triggers, and a pg_trgm GIN search index.
//
// Everything PostgreSQL-specific about call history lives in this file (the contract: call-history-index.ts).
// The counters: the same `call_counters` table as on SQLite, kept by AFTER … FOR EACH STATEMENT triggers that read
// the statement's transition tables, so a 500-row import is one grouped upsert rather than 500. The search index:
// one GIN trigram index over id, from_number and to_number joined by a unit separator (a character search terms never
// hold), which `ILIKE '%term%'` on the same expression uses directly; the heap recheck keeps the match exact.
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { containsPattern, LIVE_OUTCOME, type Accelerators, type HistoryIndexes } from './call-history-index.js';

const SEARCH_INDEX = 'calls_search_trgm';
/** The indexed expression; a query must spell it the same way for the planner to use the index. */
const searchText = (table: string) => `(${table}id || E'\\x1f' || ${table}from_number || E'\\x1f' || ${table}to_number)`;

/**
 * Imports at least this big vacuum and analyze `calls` at once rather than when autovacuum gets to it: planner statistics
 * for the new rows, and a visibility map that lets counts by number or day read only their index.
 */
const VACUUM_MIN_ROWS = 10_000;

type Change = 'insert' | 'update' | 'delete';
const CHANGES: readonly Change[] = ['insert', 'update', 'delete'];
const triggerOf = (change: Change) => `calls_counters_${change}`;

// started_at is an ISO 8601 UTC string (Date#toISOString), so its first 10 characters are its UTC day.
const rowsOf = (table: 'new_rows' | 'old_rows', sign: 1 | -1) =>
  `SELECT instance_id, substr(started_at, 1, 10) AS day, direction, coalesce(disposition, '${LIVE_OUTCOME}') AS outcome,
          ${sign} AS n, ${sign} * duration AS d FROM ${table}`;

/** The statement's net change per counter (none for an update that moved no call between counters), in key order. */
const applyDelta = (change: Change) => `
  INSERT INTO call_counters AS c (instance_id, day, direction, outcome, call_count, duration_sum)
  SELECT instance_id, day, direction, outcome, sum(n), sum(d) FROM (
    ${[change !== 'delete' ? rowsOf('new_rows', 1) : null, change !== 'insert' ? rowsOf('old_rows', -1) : null].filter(Boolean).join(' UNION ALL ')}
  ) delta
  GROUP BY instance_id, day, direction, outcome HAVING sum(n) <> 0 OR sum(d) <> 0
  ORDER BY instance_id, day, direction, outcome
  ON CONFLICT (instance_id, day, direction, outcome)
  DO UPDATE SET call_count = c.call_count + excluded.call_count, duration_sum = c.duration_sum + excluded.duration_sum`;

const transitionTables: Record<Change, string> = {
  insert: 'NEW TABLE AS new_rows',
  update: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'OLD TABLE AS old_rows',
};

async function install(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('call_counters')
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('day', 'varchar(10)', (c) => c.notNull())
    .addColumn('direction', 'varchar(16)', (c) => c.notNull())
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('call_count', 'bigint', (c) => c.notNull())
    .addColumn('duration_sum', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_counters_pk', ['instance_id', 'day', 'direction', 'outcome'])
    .execute();
  await sql`
    INSERT INTO call_counters (instance_id, day, direction, outcome, call_count, duration_sum)
    SELECT instance_id, substr(started_at, 1, 10), direction, coalesce(disposition, ${sql.lit(LIVE_OUTCOME)}), count(*), sum(duration)
    FROM calls GROUP BY 1, 2, 3, 4`.execute(db);
  for (const change of CHANGES) {
    const name = triggerOf(change);
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${applyDelta(change)}; RETURN NULL; END $$`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} AFTER ${change.toUpperCase()} ON calls REFERENCING ${transitionTables[change]} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`).execute(db);
  }
  // pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await sql.raw(`CREATE INDEX ${SEARCH_INDEX} ON calls USING gin (${searchText('')} gin_trgm_ops)`).execute(db);
}

async function drop(db: Kysely<any>): Promise<void> {
  await sql.raw(`DROP INDEX IF EXISTS ${SEARCH_INDEX}`).execute(db);
  for (const change of CHANGES) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${triggerOf(change)} ON calls`).execute(db);
    await sql.raw(`DROP FUNCTION IF EXISTS ${triggerOf(change)}()`).execute(db);
  }
  await sql`DROP TABLE IF EXISTS call_counters`.execute(db);
}

async function detect(db: Kysely<any>): Promise<Accelerators> {
  const [triggers, indexes] = await Promise.all([
    sql<{ name: string }>`SELECT tgname AS name FROM pg_trigger WHERE tgrelid = to_regclass('calls') AND NOT tgisinternal`.execute(db),
    sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'calls'`.execute(db),
  ]);
  const has = new Set(triggers.rows.map((r) => r.name));
  return { counters: CHANGES.every((c) => has.has(triggerOf(c))), search: indexes.rows.some((r) => r.name === SEARCH_INDEX) };
}

function searchMatch(term: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.raw(searchText('calls.'))} ILIKE ${containsPattern(term)} ESCAPE '\\'`;
}

/** A bitmap scan of the trigram index, rechecked on the rows it points at. */
async function countSearchHits(db: Kysely<any>, term: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM calls WHERE ${searchMatch(term)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

async function imported(db: Kysely<any>, rows: number): Promise<void> {
  if (rows >= VACUUM_MIN_ROWS) await sql`VACUUM (ANALYZE) calls`.execute(db);
}

export const postgresHistoryIndexes: HistoryIndexes = {
  install,
  drop,
  detect,
  searchMatch,
  countSearchHits,
  // PostgreSQL's planner has statistics and estimates the trigram match itself.
  unindexed: <T>(column: string) => sql<T>`${sql.ref(column)}`,
  imported,
};
