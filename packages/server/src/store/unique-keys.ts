// Unique-key clashes of either dialect as AppError('conflict'): a "check, then write" that lost a race to a concurrent writer.
//
// A store checks a unique key (a trunk's name, a number, the one default trunk) before it writes, and answers a clash
// with its own message. Two concurrent requests can both pass the check; the database's unique constraint then fails
// the later write (SQLite: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; PostgreSQL: 23505, raised once the winner commits).
import { AppError } from '../util/errors.js';

const UNIQUE_VIOLATIONS = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY', '23505']);

export const isUniqueViolation = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && UNIQUE_VIOLATIONS.has(String((err as { code?: unknown }).code));

/**
 * Runs `write` (a whole transaction, so that its checks and writes are retried together). On a unique-key clash it runs
 * it once more: the winner has committed by then, so the checks now see it and answer precisely (or, where the clash
 * was incidental, e.g. two trunks both made the first default, the write succeeds). A second clash is `conflict`.
 */
export async function writeUnique<T>(write: () => Promise<T>, conflictMessage: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', conflictMessage);
    throw err;
  }
}
