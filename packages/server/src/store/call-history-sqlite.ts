// SQLite accelerators for call history: per-day counters and an FTS5 trigram search index, kept by triggers.
//
// Everything SQLite-specific about call history lives in this file (the contract: call-history-index.ts).
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { createCounterTable, FTS_MIN_TERM_CHARS, holdsAllCalls, LIVE_OUTCOME, type Accelerators, type HistoryIndexes } from './call-history-index.js';

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

async function install(db: Kysely<any>): Promise<void> {
  await createCounterTable(db, 'integer', sql`WITHOUT ROWID`); // rows live in the primary key's b-tree: tallies read one index
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

async function drop(db: Kysely<any>): Promise<void> {
  for (const name of TRIGGERS) await sql.raw(`DROP TRIGGER IF EXISTS ${name}`).execute(db);
  await sql`DROP TABLE IF EXISTS calls_search`.execute(db);
  await sql`DROP TABLE IF EXISTS call_counters`.execute(db);
}

async function detect(db: Kysely<any>): Promise<Accelerators> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'calls_%'`.execute(db);
  const has = new Set(rows.map((r) => r.name));
  return {
    counters: ['calls_counters_insert', 'calls_counters_update', 'calls_counters_delete'].every((t) => has.has(t)),
    search: ['calls_search_insert', 'calls_search_update', 'calls_search_delete'].every((t) => has.has(t)),
  };
}

/**
 * `calls.id IN (…)` the index's hits: a quoted FTS5 phrase is the term's trigrams at consecutive positions, i.e. the
 * exact substring. Driving hits need nothing more here: unindexed keeps the other terms off their indexes.
 */
function searchMatch(term: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`calls.id IN (SELECT calls_search.id FROM calls_search WHERE calls_search MATCH ${phraseOf(term)})`;
}

/** `term`'s FTS5 phrase: its trigrams at consecutive positions, i.e. the exact substring (case-insensitively). */
const phraseOf = (term: string): string => `"${term.replace(/"/g, '""')}"`;

/**
 * The index's own hit count, read from its doclists without touching any row (a few ms for tens of thousands of hits):
 * the instance's when it holds every call (the index knows no instances).
 */
async function countSearchHits(db: Kysely<any>, instanceId: string, term: string): Promise<number | undefined> {
  if (!(await holdsAllCalls(db, instanceId))) return undefined;
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM calls_search WHERE calls_search MATCH ${phraseOf(term)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * A column reference no index may serve (SQLite's unary +). Without planner statistics SQLite takes `instance_id = ?`
 * for a handful of rows and would scan the whole instance probing the search hits; with the other terms kept off
 * their indexes, the hits drive the query through the primary key instead.
 */
const unindexed = <T>(column: string): RawBuilder<T> => sql<T>`+${sql.ref(column)}`;

export const sqliteHistoryIndexes: HistoryIndexes = {
  install,
  drop,
  // The FTS5 index keeps the shape migration 0003 gave it.
  upgradeSearch: async () => {},
  // countSearchHits counts the FTS index's rows: no b-tree to widen.
  coverSearchCount: async () => {},
  detect,
  searchMatch,
  countSearchHits,
  unindexed,
  // Without planner statistics (see unindexed) there is nothing to refresh.
  importing: async () => {},
  imported: async () => {},
};
