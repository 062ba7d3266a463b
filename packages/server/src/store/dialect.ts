// The SQL dialect a database speaks (embedded SQLite or PostgreSQL) and the parts of the store written once per dialect.
import { PostgresAdapter, type Kysely } from 'kysely';
import type { HistoryIndexes } from './call-history-index.js';
import { postgresHistoryIndexes } from './call-history-postgres.js';
import { sqliteHistoryIndexes } from './call-history-sqlite.js';

export type Dialect = 'sqlite' | 'postgres';

export const dialectOf = (db: Kysely<any>): Dialect => (db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');

/** The call-history counters and search index of this database's dialect. */
export const historyIndexesOf = (db: Kysely<any>): HistoryIndexes => (dialectOf(db) === 'postgres' ? postgresHistoryIndexes : sqliteHistoryIndexes);
