// Directory: resolves a dialled destination — an extension or an identity — to a user of the instance.
import type { PartyInfo } from '@astral/protocol';
import type { Store } from '../store/index.js';

export async function resolveDestination(store: Store, instanceId: string, destination: string): Promise<PartyInfo | undefined> {
  const row = /^[0-9*#+]+$/.test(destination)
    ? ((await store.users.byExtension(instanceId, destination)) ?? (await store.users.byIdentity(instanceId, destination)))
    : await store.users.byIdentity(instanceId, destination);
  return row && { userId: row.id, identity: row.identity, displayName: row.display_name, extension: row.extension };
}
