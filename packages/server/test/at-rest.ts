// What a test server's database holds at rest, read on a connection of its own (also while no server runs), on either dialect.
//
// SQLite: the data dir's astral.db, read-only, and its bytes (main file and write-ahead log). PostgreSQL: the test
// server's database (helpers.ts, ASTRAL_TEST_DIALECT=postgres) and the text of every row of every table.
import SqliteDatabase from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/store/schema.js';
import { postgresDatabaseOf } from './helpers.js';

/** Runs `read` on a new connection to the database of the servers on `dataDir`, closed afterwards. */
export async function readDatabase<T>(dataDir: string, read: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const url = postgresDatabaseOf(dataDir);
  const dialect = url
    ? new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) })
    : new SqliteDialect({ database: new SqliteDatabase(join(dataDir, 'astral.db'), { readonly: true }) });
  const db = new Kysely<Database>({ dialect });
  try {
    return await read(db);
  } finally {
    await db.destroy();
  }
}

/** Whether `secret` appears anywhere in the database as stored: its files (SQLite) or any row's text (PostgreSQL). */
export async function storedInClear(dataDir: string, secret: string): Promise<boolean> {
  if (!postgresDatabaseOf(dataDir)) {
    return ['astral.db', 'astral.db-wal'].some((file) => existsSync(join(dataDir, file)) && readFileSync(join(dataDir, file)).includes(secret));
  }
  return readDatabase(dataDir, async (db) => {
    for (const table of await db.introspection.getTables()) {
      const { rows } = await sql`SELECT 1 FROM ${sql.table(table.name)} AS r WHERE strpos(r::text, ${secret}) > 0 LIMIT 1`.execute(db);
      if (rows.length > 0) return true;
    }
    return false;
  });
}

/** Rows per table holding `instanceId` (tables with an instance_id column; none listed with 0). */
export function rowsOfInstance(dataDir: string, instanceId: string): Promise<Record<string, number>> {
  return readDatabase(dataDir, async (db) => {
    const counts: Record<string, number> = {};
    for (const table of await db.introspection.getTables()) {
      if (!table.columns.some((c) => c.name === 'instance_id')) continue;
      const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table.name)} WHERE instance_id = ${instanceId}`.execute(db);
      if (Number(rows[0]!.n) !== 0) counts[table.name] = Number(rows[0]!.n);
    }
    return counts;
  });
}
