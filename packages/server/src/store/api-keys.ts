// API keys: stored as SHA-256 hashes with their permissions; the plain key is shown once at creation.
import type { Permission } from '@astral/protocol';
import type { Db } from './db.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';

export interface ApiKeyInfo {
  id: string;
  instanceId: string;
  name: string;
  prefix: string;
  permissions: Permission[];
  createdAt: string;
  revokedAt: string | null;
}

export interface NewApiKey {
  instanceId: string;
  name: string;
  keyHash: string;
  prefix: string;
  permissions: Permission[];
}

type Row = {
  id: string;
  instance_id: string;
  name: string;
  prefix: string;
  permissions: string;
  created_at: string;
  revoked_at: string | null;
};

const toInfo = (r: Row): ApiKeyInfo => ({
  id: r.id,
  instanceId: r.instance_id,
  name: r.name,
  prefix: r.prefix,
  permissions: JSON.parse(r.permissions) as Permission[],
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

const COLUMNS = ['id', 'instance_id', 'name', 'prefix', 'permissions', 'created_at', 'revoked_at'] as const;

export class ApiKeyStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async insert(key: NewApiKey): Promise<ApiKeyInfo> {
    const row = {
      id: this.ids.next(),
      instance_id: key.instanceId,
      name: key.name,
      prefix: key.prefix,
      key_hash: key.keyHash,
      permissions: JSON.stringify(key.permissions),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toInfo(row);
  }

  async activeByHash(keyHash: string): Promise<ApiKeyInfo | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(COLUMNS)
      .where('key_hash', '=', keyHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row && toInfo(row);
  }

  async existsByHash(keyHash: string): Promise<boolean> {
    return (await this.db.selectFrom('api_keys').select('id').where('key_hash', '=', keyHash).executeTakeFirst()) !== undefined;
  }

  async list(instanceId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').select(COLUMNS).where('instance_id', '=', instanceId).orderBy('id').execute();
    return rows.map(toInfo);
  }

  /** Revokes by id or by name; returns how many keys were revoked. */
  async revoke(instanceId: string, idOrName: string): Promise<number> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('instance_id', '=', instanceId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
