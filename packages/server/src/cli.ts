// `npm run astral -- keys create|list|revoke`: API key administration against the server's database.
import { Permissions } from '@astral/protocol';
import { parseArgs } from 'node:util';
import { ApiKeyService, parsePermissions } from './auth/api-keys.js';
import { BotService } from './auth/bots.js';
import { INSTANCES_USAGE, runInstancesAdmin } from './cli-instances.js';
import { runSipAdmin, TRUNKS_USAGE } from './cli-trunks.js';
import { ConfigError, loadConfig } from './config.js';
import { Store } from './store/index.js';
import { AppError } from './util/errors.js';

const USAGE = `usage:
  npm run astral -- keys create --name NAME --permissions PERMS   (PERMS: comma-separated of ${Permissions.join(', ')})
  npm run astral -- keys list
  npm run astral -- keys revoke ID_OR_NAME
  npm run astral -- bots create --name NAME
  npm run astral -- bots revoke ID
${TRUNKS_USAGE}
${INSTANCES_USAGE}
Uses ASTRAL_DATA_DIR (default ./data), like the server.`;

async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'trunks' || argv[0] === 'numbers') return runSipAdmin(argv);
  if (argv[0] === 'instances') return runInstancesAdmin(argv);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, permissions: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, command, target] = positionals;
  if (values.help || (group !== 'keys' && group !== 'bots') || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const store = await Store.open(config);
  try {
    const instanceId = await store.instances.ensureDefault();
    if (group === 'bots') return await botsCommand(new BotService(store.bots, store.ids), instanceId, command, values.name ?? target);
    const keys = new ApiKeyService(store.apiKeys);
    switch (command) {
      case 'create': {
        if (!values.name) throw new AppError('bad_request', '--name is required');
        const { key, info } = await keys.create(instanceId, values.name, parsePermissions(values.permissions ?? ''));
        console.log(`created API key ${info.id} "${info.name}" with ${info.permissions.join(', ')}`);
        console.log(`key (shown once, store it now): ${key}`);
        return 0;
      }
      case 'list': {
        for (const k of await store.apiKeys.list(instanceId)) {
          console.log(`${k.id}\t${k.name}\t${k.prefix}…\t${k.permissions.join(',')}\t${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}`);
        }
        return 0;
      }
      case 'revoke': {
        if (!target) throw new AppError('bad_request', 'which key? give its id or name');
        const n = await store.apiKeys.revoke(instanceId, target);
        if (n === 0) throw new AppError('not_found', `no active key with id or name "${target}"`);
        console.log(`revoked ${n} key${n === 1 ? '' : 's'}`);
        return 0;
      }
      default:
        console.log(USAGE);
        return 2;
    }
  } finally {
    await store.close();
  }
}

async function botsCommand(bots: BotService, instanceId: string, command: string, arg: string | undefined): Promise<number> {
  if (command === 'create') {
    if (!arg) throw new AppError('bad_request', '--name is required');
    const bot = await bots.create(instanceId, arg);
    console.log(`created bot ${bot.id} "${bot.name}"`);
    console.log(`token (shown once, store it now): ${bot.token}`);
    return 0;
  }
  if (command === 'revoke') {
    if (!arg || !/^[0-9]{1,20}$/.test(arg)) throw new AppError('bad_request', 'which bot? give its id');
    await bots.revoke(instanceId, arg);
    console.log(`revoked bot ${arg}`);
    return 0;
  }
  console.log(USAGE);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof AppError || err instanceof ConfigError) console.error(`error: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
