// Instances (tenants): every key, user and call belongs to one; the first start creates the default.
import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';

export const DEFAULT_INSTANCE_NAME = 'default';

export class InstanceStore {
  constructor(private readonly db: Db) {}

  /** The oldest instance, created on first start. */
  async ensureDefault(): Promise<string> {
    const existing = await this.db.selectFrom('instances').select('id').orderBy('created_at').limit(1).executeTakeFirst();
    if (existing) return existing.id;
    const id = randomUUID();
    await this.db
      .insertInto('instances')
      .values({ id, name: DEFAULT_INSTANCE_NAME, created_at: new Date().toISOString() })
      .execute();
    return id;
  }
}
