// Users: identities of an instance, created on first token mint, with an optional extension.
import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { UsersTable } from './schema.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';

export type UserRow = Selectable<UsersTable>;

export interface UpsertUser {
  instanceId: string;
  identity: string;
  displayName?: string;
  extension?: string;
  /** Record this user's calls (switch it off per extension). */
  recordCalls?: boolean;
}

export class UserStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  /** Finds the identity's user (creating it on first use) and applies a new display name or extension. */
  async upsert(input: UpsertUser): Promise<UserRow> {
    const existing = await this.db
      .selectFrom('users')
      .selectAll()
      .where('instance_id', '=', input.instanceId)
      .where('identity', '=', input.identity)
      .executeTakeFirst();
    if (!existing) {
      const row: UserRow = {
        id: this.ids.next(),
        instance_id: input.instanceId,
        identity: input.identity,
        display_name: input.displayName ?? input.identity,
        extension: input.extension ?? null,
        created_at: new Date().toISOString(),
        record_calls: input.recordCalls === false ? 0 : 1,
      };
      // A concurrent first mint of the same identity loses the race quietly and reads the winner.
      await this.db.insertInto('users').values(row).onConflict((oc) => oc.doNothing()).execute();
      return (await this.byIdentity(input.instanceId, input.identity)) ?? row;
    }
    const changes: Partial<UserRow> = {};
    if (input.displayName !== undefined && input.displayName !== existing.display_name) changes.display_name = input.displayName;
    if (input.extension !== undefined && input.extension !== existing.extension) changes.extension = input.extension;
    if (input.recordCalls !== undefined && Number(input.recordCalls) !== existing.record_calls) changes.record_calls = input.recordCalls ? 1 : 0;
    if (Object.keys(changes).length === 0) return existing;
    await this.db.updateTable('users').set(changes).where('id', '=', existing.id).execute();
    return { ...existing, ...changes };
  }

  /** Whether any of these users has call recording switched off. */
  async recordingOff(userIds: string[]): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('id', 'in', userIds).where('record_calls', '=', 0).executeTakeFirst();
    return row !== undefined;
  }

  byIdentity(instanceId: string, identity: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('identity', '=', identity)
      .executeTakeFirst();
  }

  byExtension(instanceId: string, extension: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('extension', '=', extension)
      .executeTakeFirst();
  }

  /** The length of the instance's longest extension (0 when none): longer digit strings are phone numbers. */
  async longestExtension(instanceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.max(eb.fn<number>('length', ['extension'])).as('longest'))
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return Number(row?.longest ?? 0);
  }

  /** Another user of the instance that already holds this extension, if any. */
  async extensionHolder(instanceId: string, extension: string, exceptIdentity: string): Promise<UserRow | undefined> {
    const holder = await this.byExtension(instanceId, extension);
    return holder && holder.identity !== exceptIdentity ? holder : undefined;
  }
}
