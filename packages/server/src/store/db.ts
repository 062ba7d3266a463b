// Opens the database behind the query layer (the embedded SQLite file, or PostgreSQL at a URL) and brings its schema up to date.
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import { join } from 'node:path';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** Where the data lives: `databaseUrl` (postgres://…) when set, else `<dataDir>/astral.db`. */
export interface DatabaseLocation {
  dataDir: string;
  databaseUrl: string | null;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
/** Connections per process to PostgreSQL. */
const POOL_SIZE = 10;

function sqliteDialect(dataDir: string): Dialect {
  const sqlite = new SqliteDatabase(join(dataDir, 'astral.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Big tables (a million calls and their indexes): a 64 MiB page cache instead of 2 MiB, and reads through a memory
  // map instead of one read() per page.
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('mmap_size = 1073741824');
  return new SqliteDialect({ database: sqlite });
}

function postgresDialect(connectionString: string): Dialect {
  // count(*) and sum() are bigint/numeric, which pg returns as strings: numbers, as SQLite gives them (all far below 2^53).
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  return new PostgresDialect({ pool: new pg.Pool({ connectionString, types, max: POOL_SIZE }) });
}

export async function openDatabase(location: DatabaseLocation): Promise<Db> {
  const dialect = location.databaseUrl ? postgresDialect(location.databaseUrl) : sqliteDialect(location.dataDir);
  const db = new Kysely<Database>({ dialect });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
  return db;
}
