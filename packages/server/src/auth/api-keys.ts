// API key issuing and checking: `ak_` + 32 random bytes, kept only as a SHA-256 hash.
import { Permissions, type Permission } from '@astral/protocol';
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyInfo, ApiKeyStore } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export function parsePermissions(list: string): Permission[] {
  const names = list.split(',').map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) throw new AppError('bad_request', 'at least one permission is required');
  for (const name of names) {
    if (!(Permissions as readonly string[]).includes(name)) {
      throw new AppError('bad_request', `unknown permission "${name}"; known: ${Permissions.join(', ')}`);
    }
  }
  return [...new Set(names)] as Permission[];
}

export const hasPermission = (key: ApiKeyInfo, permission: Permission): boolean =>
  key.permissions.includes('admin') || key.permissions.includes(permission);

export class ApiKeyService {
  constructor(private readonly store: ApiKeyStore) {}

  /** Creates a key and returns its plain text, which is never stored or shown again. */
  async create(instanceId: string, name: string, permissions: Permission[]): Promise<{ key: string; info: ApiKeyInfo }> {
    const key = `ak_${randomBytes(32).toString('base64url')}`;
    const info = await this.store.insert({ instanceId, name, permissions, keyHash: hashApiKey(key), prefix: key.slice(0, 10) });
    return { key, info };
  }

  /** Adds a key chosen by the operator (ASTRAL_BOOTSTRAP_API_KEY) unless it already exists. */
  async ensure(instanceId: string, key: string, name: string, permissions: Permission[]): Promise<boolean> {
    const keyHash = hashApiKey(key);
    if (await this.store.existsByHash(keyHash)) return false;
    await this.store.insert({ instanceId, name, permissions, keyHash, prefix: key.slice(0, 10) });
    return true;
  }

  /** The active key for a presented secret, or a 401. */
  async authenticate(presented: string | undefined): Promise<ApiKeyInfo> {
    if (!presented) throw new AppError('unauthorized', 'missing X-API-Key header');
    const info = await this.store.activeByHash(hashApiKey(presented));
    if (!info) throw new AppError('unauthorized', 'invalid or revoked API key');
    return info;
  }
}
