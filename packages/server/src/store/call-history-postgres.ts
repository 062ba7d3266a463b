// PostgreSQL accelerators for call history: per-day counters kept by statement triggers, and a pg_trgm search side table.
//
// Everything PostgreSQL-specific about call history lives in this file (the contract: call-history-index.ts).
// The counters: the same `call_counters` table as on SQLite, kept by AFTER … FOR EACH STATEMENT triggers that read
// the statement's transition tables, so a 500-row import is one grouped upsert rather than 500. The search index: a
// narrow side table `calls_search` (like SQLite's FTS table) holding each call's id and the lower-cased id, from_number
// and to_number joined by a unit separator (a character search terms never hold), with a GIN trigram index that
// `LIKE '%term%'` uses; the recheck of its hits reads these short rows rather than whole calls (a frequent term's
// thousands of hits: two thirds of the pages, no concatenation per row). Triggers keep it: statement ones for inserts and deletes,
// a row one for the rare update of id or a number (so status and heartbeat updates never touch it).
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { containsPattern, createCounterTable, LIVE_OUTCOME, type Accelerators, type HistoryIndexes } from './call-history-index.js';

const SEARCH_INDEX = 'calls_search_trgm';
/** What calls_search.text holds for a row of `calls` (`NEW.`, a transition table's alias, or none). */
const searchText = (row: string) => `lower(${row}id || E'\\x1f' || ${row}from_number || E'\\x1f' || ${row}to_number)`;
const SEARCH_TRIGGERS = { insert: 'calls_search_insert', update: 'calls_search_update', delete: 'calls_search_delete' } as const;
const searchTriggerBody: Record<keyof typeof SEARCH_TRIGGERS, string> = {
  insert: `INSERT INTO calls_search (id, text) SELECT id, ${searchText('')} FROM new_rows; RETURN NULL;`,
  update: `UPDATE calls_search SET id = NEW.id, text = ${searchText('NEW.')} WHERE id = OLD.id; RETURN NULL;`,
  delete: 'DELETE FROM calls_search WHERE id IN (SELECT id FROM old_rows); RETURN NULL;',
};
const searchTriggerOn: Record<keyof typeof SEARCH_TRIGGERS, string> = {
  insert: 'AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT',
  update: 'AFTER UPDATE OF id, from_number, to_number ON calls FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.from_number IS DISTINCT FROM NEW.from_number OR OLD.to_number IS DISTINCT FROM NEW.to_number)',
  delete: 'AFTER DELETE ON calls REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT',
};

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
  await createCounterTable(db, 'bigint');
  await sql`
    INSERT INTO call_counters (instance_id, day, direction, outcome, call_count, duration_sum)
    SELECT instance_id, substr(started_at, 1, 10), direction, coalesce(disposition, ${sql.lit(LIVE_OUTCOME)}), count(*), sum(duration)
    FROM calls GROUP BY 1, 2, 3, 4`.execute(db);
  for (const change of CHANGES) {
    const name = triggerOf(change);
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${applyDelta(change)}; RETURN NULL; END $$`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} AFTER ${change.toUpperCase()} ON calls REFERENCING ${transitionTables[change]} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`).execute(db);
  }
  await sql`CREATE TABLE calls_search (id varchar(20) PRIMARY KEY, text text NOT NULL)`.execute(db);
  await sql.raw(`INSERT INTO calls_search (id, text) SELECT id, ${searchText('')} FROM calls`).execute(db);
  // pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await sql.raw(`CREATE INDEX ${SEARCH_INDEX} ON calls_search USING gin (text gin_trgm_ops)`).execute(db);
  for (const [change, name] of Object.entries(SEARCH_TRIGGERS) as [keyof typeof SEARCH_TRIGGERS, string][]) {
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${searchTriggerBody[change]} END $$`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} ${searchTriggerOn[change]} EXECUTE FUNCTION ${name}()`).execute(db);
  }
}

async function drop(db: Kysely<any>): Promise<void> {
  for (const name of [...Object.values(SEARCH_TRIGGERS), ...CHANGES.map(triggerOf)]) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${name} ON calls`).execute(db);
    await sql.raw(`DROP FUNCTION IF EXISTS ${name}()`).execute(db);
  }
  await sql`DROP TABLE IF EXISTS calls_search`.execute(db);
  await sql`DROP TABLE IF EXISTS call_counters`.execute(db);
}

async function detect(db: Kysely<any>): Promise<Accelerators> {
  const [triggers, indexes] = await Promise.all([
    sql<{ name: string }>`SELECT tgname AS name FROM pg_trigger WHERE tgrelid = to_regclass('calls') AND NOT tgisinternal`.execute(db),
    sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'calls_search'`.execute(db),
  ]);
  const has = new Set(triggers.rows.map((r) => r.name));
  return {
    counters: CHANGES.every((c) => has.has(triggerOf(c))),
    search: Object.values(SEARCH_TRIGGERS).every((t) => has.has(t)) && indexes.rows.some((r) => r.name === SEARCH_INDEX),
  };
}

/** Side-table rows containing `term`, lower-cased as the portable path's `lower(column) LIKE` compares. */
const searchHits = (term: string) =>
  sql`SELECT calls_search.id FROM calls_search WHERE calls_search.text LIKE ${containsPattern(term.toLowerCase())} ESCAPE '\\'`;

/**
 * Driving hits come as an array the planner cannot look into (an init plan, estimated at a handful of ids), so it
 * fetches them by primary key and sorts them rather than walking the newest-first index and probing each row.
 */
function searchMatch(term: string, drives: boolean): RawBuilder<SqlBool> {
  return drives ? sql<SqlBool>`calls.id = ANY(ARRAY(${searchHits(term)}))` : sql<SqlBool>`calls.id IN (${searchHits(term)})`;
}

/** A bitmap scan of the trigram index, rechecked on the side table's short rows. */
async function countSearchHits(db: Kysely<any>, term: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM (${searchHits(term)}) hits`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

async function imported(db: Kysely<any>, rows: number): Promise<void> {
  if (rows >= VACUUM_MIN_ROWS) await sql`VACUUM (ANALYZE) calls, calls_search`.execute(db);
}

export const postgresHistoryIndexes: HistoryIndexes = {
  install,
  drop,
  detect,
  searchMatch,
  countSearchHits,
  // PostgreSQL's planner has statistics; what a driving search needs, searchMatch gives it.
  unindexed: <T>(column: string) => sql<T>`${sql.ref(column)}`,
  imported,
};
