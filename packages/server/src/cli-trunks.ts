// `npm run astral -- trunks ...|numbers ...`: SIP trunk and phone number administration against the server's database.
// Same rules as the REST API (the protocol's schemas, the stores' checks); passwords are sealed with the server's key.
import { CreateNumberBody, CreateTrunkBody, type CreateNumberBody as NumberBody, type CreateTrunkBody as TrunkBody } from '@astral/protocol';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SecretBox, SecretPurposes } from './auth/secret-box.js';
import { loadConfig } from './config.js';
import { Store } from './store/index.js';
import { newTrunk, type Trunk } from './store/trunks.js';
import { AppError } from './util/errors.js';

export const TRUNKS_USAGE = `  npm run astral -- trunks create --name NAME --host HOST [--port 5060] [--transport udp|tcp|tls] [--username U]
                    [--password P | --password-stdin] [--realm R] [--caller-id NUMBER] [--register]
                    [--codecs PCMU,PCMA] [--allowed-ips CIDR,...] [--default]
  npm run astral -- trunks list
  npm run astral -- trunks delete ID_OR_NAME
  npm run astral -- numbers create --number +15551234567 --destination 1001 --type extension|queue|ivr [--trunk ID_OR_NAME]
  npm run astral -- numbers list
  npm run astral -- numbers delete NUMBER`;

/** Checks a body against the API's schema; the first error names the field like the API does. */
function check<T>(schema: TSchema, body: Record<string, unknown>): T {
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  const first = Value.Errors(schema, body).First();
  if (first) {
    const field = first.path.slice(1).replace(/\//g, '.') || 'arguments';
    throw new AppError('bad_request', `${field}: ${first.message.toLowerCase()}`);
  }
  return body as T;
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
const int = (s: string | undefined) => (s === undefined ? undefined : /^[0-9]+$/.test(s) ? Number(s) : s);

const OPTIONS = {
  name: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  transport: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  realm: { type: 'string' },
  'caller-id': { type: 'string' },
  register: { type: 'boolean' },
  codecs: { type: 'string' },
  'allowed-ips': { type: 'string' },
  default: { type: 'boolean' },
  number: { type: 'string' },
  destination: { type: 'string' },
  type: { type: 'string' },
  trunk: { type: 'string' },
} as const;

function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new AppError('bad_request', (err as Error).message);
  }
}

async function trunkByIdOrName(store: Store, instanceId: string, ref: string): Promise<Trunk> {
  const trunk = /^[0-9]{1,20}$/.test(ref) ? await store.trunks.get(instanceId, ref) : await store.trunks.byName(instanceId, ref);
  if (!trunk) throw new AppError('not_found', `no trunk "${ref}"`);
  return trunk;
}

export async function runSipAdmin(argv: string[]): Promise<number> {
  const { positionals, values } = parseOptions(argv);
  const [group, command, target] = positionals;
  if (!['create', 'list', 'delete'].includes(command ?? '')) {
    console.log(`usage:\n${TRUNKS_USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const store = await Store.open(config);
  try {
    const instanceId = await store.instances.ensureDefault();
    if (group === 'trunks') {
      if (command === 'create') {
        let password = values.password;
        if (values['password-stdin']) password = readFileSync(0, 'utf8').split(/\r?\n/)[0];
        const body = check<TrunkBody>(CreateTrunkBody, {
          name: values.name,
          host: values.host,
          port: int(values.port),
          transport: values.transport,
          username: values.username,
          password,
          realm: values.realm,
          caller_id: values['caller-id'],
          register: values.register,
          codecs: list(values.codecs),
          allowed_ips: list(values['allowed-ips']),
          default: values.default,
        });
        const secrets = new SecretBox(config.secretKey, SecretPurposes.trunkPassword);
        const trunk = await store.trunks.create(newTrunk(instanceId, body, secrets));
        console.log(`created trunk ${trunk.id} "${trunk.name}" ${trunk.host}:${trunk.port}/${trunk.transport}${trunk.isDefault ? ' (default)' : ''}`);
        console.log('a running server applies it on its next start or trunk change through the API');
        return 0;
      }
      if (command === 'list') {
        for (const tr of await store.trunks.list(instanceId)) {
          const auth = tr.username ? `${tr.username}${tr.hasPassword ? ' (password set)' : ''}` : '-';
          console.log(
            [tr.id, tr.name, `${tr.host}:${tr.port}/${tr.transport}`, auth, tr.register ? 'register' : 'no-register', tr.codecs.join(','), tr.allowedIps.join(',') || '-', tr.isDefault ? 'default' : ''].join('\t'),
          );
        }
        return 0;
      }
      if (!target) throw new AppError('bad_request', 'which trunk? give its id or name');
      const trunk = await trunkByIdOrName(store, instanceId, target);
      await store.trunks.remove(instanceId, trunk.id);
      console.log(`deleted trunk ${trunk.id} "${trunk.name}"`);
      return 0;
    }
    // numbers
    if (command === 'create') {
      const trunkId = values.trunk === undefined ? undefined : (await trunkByIdOrName(store, instanceId, values.trunk)).id;
      const body = check<NumberBody>(CreateNumberBody, { number: values.number, destination: values.destination, destination_type: values.type, trunk_id: trunkId });
      const n = await store.numbers.create({ instanceId, number: body.number, destination: body.destination, destinationType: body.destination_type, trunkId: body.trunk_id ?? null });
      console.log(`created number ${n.number} → ${n.destinationType} ${n.destination}${n.trunkId ? ` on trunk ${n.trunkId}` : ''}`);
      return 0;
    }
    if (command === 'list') {
      for (const n of await store.numbers.list(instanceId)) console.log([n.number, n.destinationType, n.destination, n.trunkId ?? 'any trunk'].join('\t'));
      return 0;
    }
    if (!target) throw new AppError('bad_request', 'which number? give it, with or without +');
    if (!(await store.numbers.remove(instanceId, target))) throw new AppError('not_found', `no number ${target}`);
    console.log(`deleted number ${target}`);
    return 0;
  } finally {
    await store.close();
  }
}
