// PostgreSQL accelerators for call history: per-day counters kept by statement triggers, and pg_trgm search indexes.
//
// Everything PostgreSQL-specific about call history lives in this file (the contract: call-history-index.ts).
// The counters: the same `call_counters` table as on SQLite, kept by AFTER … FOR EACH STATEMENT triggers that read
// the statement's transition tables, so a 500-row import is one grouped upsert rather than 500. The search index has
// two parts, each with a GIN trigram index that `lower(…) LIKE '%term%'` uses: a narrow side table `calls_search`
// (each call's id and instance) for ids, and `call_numbers`, every number a call has had as from_number or to_number,
// once. A number held by thousands of calls (an agent's extension) is then one hit, whose calls the (instance, number)
// b-trees of `calls` give from their index alone, instead of thousands of trigram hits rechecked row by row; a search's
// total counts those calls as disjoint sets from the same b-trees (migration 0012 puts from_number in the to_number one).
// Triggers keep both: statement ones for inserts and deletes, a row one for the rare update of id, instance or a
// number (so status and heartbeat updates never touch them). `call_numbers` only grows: a number no call holds any
// more matches no call.
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { containsPattern, createCounterTable, LIVE_OUTCOME, type Accelerators, type HistoryIndexes } from './call-history-index.js';

const ID_INDEX = 'calls_search_trgm';
const NUMBER_INDEX = 'call_numbers_trgm';
/** The numbers of `rows` (a transition table) for `call_numbers`, in key order (concurrent imports lock them alike). */
const numbersOf = (rows: string) =>
  `INSERT INTO call_numbers (number) SELECT from_number FROM ${rows} UNION SELECT to_number FROM ${rows} ORDER BY 1 ON CONFLICT DO NOTHING;`;
const SEARCH_TRIGGERS = { insert: 'calls_search_insert', update: 'calls_search_update', delete: 'calls_search_delete' } as const;
const searchTriggerBody: Record<keyof typeof SEARCH_TRIGGERS, string> = {
  insert: `INSERT INTO calls_search (id, instance_id) SELECT id, instance_id FROM new_rows; ${numbersOf('new_rows')} RETURN NULL;`,
  update: `UPDATE calls_search SET id = NEW.id, instance_id = NEW.instance_id WHERE id = OLD.id;
    INSERT INTO call_numbers (number) SELECT n FROM (VALUES (NEW.from_number), (NEW.to_number)) AS v (n) ORDER BY 1 ON CONFLICT DO NOTHING;
    RETURN NULL;`,
  delete: 'DELETE FROM calls_search WHERE id IN (SELECT id FROM old_rows); RETURN NULL;',
};
const changed = (column: string) => `OLD.${column} IS DISTINCT FROM NEW.${column}`;
const searchTriggerOn: Record<keyof typeof SEARCH_TRIGGERS, string> = {
  insert: 'AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT',
  update: `AFTER UPDATE OF id, instance_id, from_number, to_number ON calls FOR EACH ROW WHEN (${['id', 'instance_id', 'from_number', 'to_number'].map(changed).join(' OR ')})`,
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
  await installSearch(db);
}

/** The search index's tables, filled from `calls`, their trigram indexes and triggers. */
async function installSearch(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE calls_search (id varchar(20) PRIMARY KEY, instance_id varchar(36) NOT NULL)`.execute(db);
  await sql`INSERT INTO calls_search (id, instance_id) SELECT id, instance_id FROM calls`.execute(db);
  await sql`CREATE TABLE call_numbers (number varchar(128) PRIMARY KEY)`.execute(db);
  await sql`INSERT INTO call_numbers (number) SELECT from_number FROM calls UNION SELECT to_number FROM calls`.execute(db);
  // pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  await sql.raw(`CREATE INDEX ${ID_INDEX} ON calls_search USING gin (lower(id) gin_trgm_ops)`).execute(db);
  await sql.raw(`CREATE INDEX ${NUMBER_INDEX} ON call_numbers USING gin (lower(number) gin_trgm_ops)`).execute(db);
  for (const [change, name] of Object.entries(SEARCH_TRIGGERS) as [keyof typeof SEARCH_TRIGGERS, string][]) {
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${searchTriggerBody[change]} END $$`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} ${searchTriggerOn[change]} EXECUTE FUNCTION ${name}()`).execute(db);
  }
}

/** The search index in any shape it has had (0003's: one `calls_search` row of id and numbers per call). */
async function dropSearch(db: Kysely<any>): Promise<void> {
  for (const name of Object.values(SEARCH_TRIGGERS)) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${name} ON calls`).execute(db);
    await sql.raw(`DROP FUNCTION IF EXISTS ${name}()`).execute(db);
  }
  await sql`DROP TABLE IF EXISTS calls_search`.execute(db);
  await sql`DROP TABLE IF EXISTS call_numbers`.execute(db);
}

async function drop(db: Kysely<any>): Promise<void> {
  await dropSearch(db);
  for (const name of CHANGES.map(triggerOf)) {
    await sql.raw(`DROP TRIGGER IF EXISTS ${name} ON calls`).execute(db);
    await sql.raw(`DROP FUNCTION IF EXISTS ${name}()`).execute(db);
  }
  await sql`DROP TABLE IF EXISTS call_counters`.execute(db);
}

/** Migration 0010: the search index rebuilt from `calls` in its present shape. */
async function upgradeSearch(db: Kysely<any>): Promise<void> {
  await dropSearch(db);
  await installSearch(db);
}

async function detect(db: Kysely<any>): Promise<Accelerators> {
  const [triggers, indexes] = await Promise.all([
    sql<{ name: string }>`SELECT tgname AS name FROM pg_trigger WHERE tgrelid = to_regclass('calls') AND NOT tgisinternal`.execute(db),
    sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('calls_search', 'call_numbers')`.execute(db),
  ]);
  const has = new Set([...triggers.rows, ...indexes.rows].map((r) => r.name));
  return {
    counters: CHANGES.every((c) => has.has(triggerOf(c))),
    search: [...Object.values(SEARCH_TRIGGERS), ID_INDEX, NUMBER_INDEX].every((name) => has.has(name)),
  };
}

/** Lower-cased as the portable path's `lower(column) LIKE` compares. */
const likeTerm = (term: string) => sql`LIKE ${containsPattern(term.toLowerCase())} ESCAPE '\\'`;
/** Numbers containing `term`: a handful of rows however many calls hold them. */
const numberHits = (term: string) => sql`SELECT call_numbers.number FROM call_numbers WHERE lower(call_numbers.number) ${likeTerm(term)}`;
const idHits = (term: string) => sql`SELECT calls_search.id FROM calls_search WHERE lower(calls_search.id) ${likeTerm(term)}`;

/**
 * The ids of the instance's calls matching `term`, each part of the index united: the numbers' calls read from the
 * (instance, number) b-trees alone (the import's vacuum leaves their pages all-visible), the ids' hits rechecked on
 * the side table's short rows.
 */
const instanceHits = (instanceId: string, term: string) => {
  const numbers = numberHits(term);
  return sql`SELECT calls.id FROM calls WHERE calls.instance_id = ${instanceId} AND calls.from_number = ANY(ARRAY(${numbers}))
    UNION SELECT calls.id FROM calls WHERE calls.instance_id = ${instanceId} AND calls.to_number = ANY(ARRAY(${numbers}))
    UNION SELECT calls_search.id FROM calls_search WHERE calls_search.instance_id = ${instanceId} AND lower(calls_search.id) ${likeTerm(term)}`;
};

/**
 * Driving hits come as an array the planner cannot look into (an init plan, estimated at a handful of ids), so it
 * fetches them by primary key and sorts them rather than walking the newest-first index and probing each row.
 * Otherwise the parts are subqueries the planner hashes once to probe the rows it walks.
 */
function searchMatch(term: string, drivesFor: string | undefined): RawBuilder<SqlBool> {
  if (drivesFor !== undefined) return sql<SqlBool>`calls.id = ANY(ARRAY(${instanceHits(drivesFor, term)}))`;
  const numbers = numberHits(term);
  return sql<SqlBool>`(calls.from_number IN (${numbers}) OR calls.to_number IN (${numbers}) OR calls.id IN (${idHits(term)}))`;
}

/**
 * Calls whose to_number's index also holds their from_number (migration 0012), so that countSearchHits reads both from
 * the index alone; key columns as 0003's calls_instance_to, which it replaces under that name.
 */
async function coverSearchCount(db: Kysely<any>, cover: boolean): Promise<void> {
  const include = cover ? ' INCLUDE (from_number)' : '';
  await sql.raw(`CREATE INDEX calls_instance_to_next ON calls (instance_id, to_number, started_at, id)${include}`).execute(db);
  await sql`DROP INDEX calls_instance_to`.execute(db);
  await sql`ALTER INDEX calls_instance_to_next RENAME TO calls_instance_to`.execute(db);
}

/**
 * The instance's hits counted as disjoint sets rather than by uniting their ids (a hash of every hit): calls whose
 * from_number matches, calls whose to_number matches and from_number does not (a hashed NOT IN over the handful of
 * numbers), and id hits in neither set: all id hits less those the first two scans see (their indexes hold the id).
 * The first two are index-only scans of the (instance, number) b-trees, the last the side table's short rows.
 */
async function countSearchHits(db: Kysely<any>, instanceId: string, term: string): Promise<number> {
  const numbers = numberHits(term);
  const idHit = sql`lower(calls.id) ${likeTerm(term)}`;
  const { rows } = await sql<{ n: number | string }>`SELECT byFrom.n + byTo.n + byId.n - byFrom.ids - byTo.ids AS n FROM
    (SELECT count(*) AS n, count(*) FILTER (WHERE ${idHit}) AS ids FROM calls
      WHERE calls.instance_id = ${instanceId} AND calls.from_number = ANY(ARRAY(${numbers}))) byFrom,
    (SELECT count(*) AS n, count(*) FILTER (WHERE ${idHit}) AS ids FROM calls
      WHERE calls.instance_id = ${instanceId} AND calls.to_number = ANY(ARRAY(${numbers})) AND calls.from_number NOT IN (${numbers})) byTo,
    (SELECT count(*) AS n FROM calls_search WHERE calls_search.instance_id = ${instanceId} AND lower(calls_search.id) ${likeTerm(term)}) byId`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * An import commits synchronously even where the server's synchronous_commit is off: VACUUM sets no hint bits for rows
 * whose commit record is not yet flushed, and so marks none of their pages all-visible, and counts by number then
 * read the heap for every imported call (until some later vacuum).
 */
async function importing(trx: Kysely<any>): Promise<void> {
  await sql`SET LOCAL synchronous_commit = on`.execute(trx);
}

async function imported(db: Kysely<any>, rows: number): Promise<void> {
  if (rows >= VACUUM_MIN_ROWS) await sql`VACUUM (ANALYZE) calls, calls_search, call_numbers`.execute(db);
}

export const postgresHistoryIndexes: HistoryIndexes = {
  install,
  drop,
  upgradeSearch,
  coverSearchCount,
  detect,
  searchMatch,
  countSearchHits,
  // PostgreSQL's planner has statistics; what a driving search needs, searchMatch gives it.
  unindexed: <T>(column: string) => sql<T>`${sql.ref(column)}`,
  importing,
  imported,
};
