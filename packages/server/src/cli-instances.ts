// `npm run astral -- instances ...`: instance (tenant) administration against the server's database, like the API.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiKeyService, parsePermissions } from './auth/api-keys.js';
import { loadConfig } from './config.js';
import { Store } from './store/index.js';
import { AppError } from './util/errors.js';

export const INSTANCES_USAGE = `  npm run astral -- instances create --name NAME
  npm run astral -- instances list
  npm run astral -- instances delete ID              (not the default instance; removes all its data)
  npm run astral -- instances keys create ID --name NAME --permissions PERMS`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { name: { type: 'string' }, permissions: { type: 'string' } } });
  } catch (err) {
    throw new AppError('bad_request', (err as Error).message);
  }
}

/** The instance an ID names, or a 404. */
async function instanceOf(store: Store, id: string | undefined) {
  if (!id) throw new AppError('bad_request', 'which instance? give its id');
  const instance = UUID.test(id) ? await store.instances.get(id) : undefined;
  if (!instance) throw new AppError('not_found', `no instance ${id}`);
  return instance;
}

export async function runInstancesAdmin(argv: string[]): Promise<number> {
  const { positionals, values } = parseOptions(argv);
  const [, command, ...rest] = positionals;
  const isKeysCreate = command === 'keys' && rest[0] === 'create';
  if (!['create', 'list', 'delete'].includes(command ?? '') && !isKeysCreate) {
    console.log(`usage:\n${INSTANCES_USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const store = await Store.open(config);
  try {
    const defaultId = await store.instances.ensureDefault();
    if (command === 'create') {
      const name = values.name?.trim();
      if (!name || name.length > 200) throw new AppError('bad_request', '--name is required (1-200 characters)');
      const instance = await store.instances.create(name);
      console.log(`created instance ${instance.id} "${instance.name}"`);
      return 0;
    }
    if (command === 'list') {
      for (const i of await store.instances.list()) console.log([i.id, i.name, i.createdAt, i.id === defaultId ? 'default' : ''].join('\t').trimEnd());
      return 0;
    }
    if (command === 'delete') {
      const instance = await instanceOf(store, rest[0]);
      const { files } = await store.instances.remove(instance.id);
      for (const file of files) rmSync(file, { force: true });
      console.log(`deleted instance ${instance.id} "${instance.name}" and its data`);
      return 0;
    }
    const instance = await instanceOf(store, rest[1]);
    if (!values.name) throw new AppError('bad_request', '--name is required');
    const { key, info } = await new ApiKeyService(store.apiKeys).create(instance.id, values.name, parsePermissions(values.permissions ?? ''));
    console.log(`created API key ${info.id} "${info.name}" of instance ${instance.id} with ${info.permissions.join(', ')}`);
    console.log(`key (shown once, store it now): ${key}`);
    return 0;
  } finally {
    await store.close();
  }
}
