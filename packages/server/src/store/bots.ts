// Bots: named principals of an instance that authenticate with `Authorization: Bot <token>` (token kept hashed).
import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { BotsTable } from './schema.js';

export type BotRow = Selectable<BotsTable>;

export class BotStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<BotRow, 'revoked_at'>): Promise<void> {
    await this.db.insertInto('bots').values({ ...row, revoked_at: null }).execute();
  }

  activeByHash(tokenHash: string): Promise<BotRow | undefined> {
    return this.db.selectFrom('bots').selectAll().where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
  }

  get(instanceId: string, id: string): Promise<BotRow | undefined> {
    return this.db.selectFrom('bots').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
  }

  /** Revokes an active bot; false when there is none with that id. */
  async revoke(instanceId: string, id: string): Promise<boolean> {
    const res = await this.db
      .updateTable('bots')
      .set({ revoked_at: new Date().toISOString() })
      .where('instance_id', '=', instanceId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
