// SIP trunks of an instance: where outbound calls go and which carriers may send inbound ones. The password is kept
// sealed (SecretBox); only withSecret() returns it in clear, for the SIP gateway.
import type { Selectable } from 'kysely';
import type { SecretBox } from '../auth/secret-box.js';
import type { G711Codec, SipTransport, TrunkTarget } from '../sip/types.js';
import { AppError } from '../util/errors.js';
import { isHost, parseIpBlock } from '../util/net.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';
import type { Db } from './db.js';
import type { TrunksTable } from './schema.js';
import { writeUnique } from './unique-keys.js';

export interface Trunk {
  id: string;
  instanceId: string;
  name: string;
  host: string;
  port: number;
  transport: SipTransport;
  username: string | null;
  /** Whether a password is stored (it is never part of this object). */
  hasPassword: boolean;
  realm: string | null;
  callerId: string | null;
  register: boolean;
  /** Preference order. */
  codecs: G711Codec[];
  /** CIDR blocks or addresses inbound INVITEs may come from (match with util/net.ts ipAllowList). */
  allowedIps: string[];
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A trunk with its password in clear: what the user agent needs (a TrunkTarget), plus the rest. Never log it. */
export interface TrunkWithSecret extends Trunk, TrunkTarget {
  password: string | null;
}

export interface TrunkFields {
  name: string;
  host: string;
  port: number;
  transport: SipTransport;
  username: string | null;
  /** SecretBox-sealed (SecretPurposes.trunkPassword), or null for none. */
  passwordSealed: string | null;
  realm: string | null;
  callerId: string | null;
  register: boolean;
  codecs: G711Codec[];
  allowedIps: string[];
}

export interface NewTrunk extends TrunkFields {
  instanceId: string;
  /** Make it the default (moves the default); the instance's first trunk becomes the default anyway. */
  isDefault?: boolean;
}

export type TrunkChanges = Partial<TrunkFields> & { isDefault?: boolean };

/** A trunk as an admin describes it (REST body or CLI flags): omitted fields take the PBX defaults, the password is sealed. */
export function newTrunk(
  instanceId: string,
  b: { name: string; host: string; port?: number; transport?: SipTransport; username?: string; password?: string; realm?: string; caller_id?: string; register?: boolean; codecs?: G711Codec[]; allowed_ips?: string[]; default?: boolean },
  secrets: SecretBox,
): NewTrunk {
  return {
    instanceId,
    name: b.name,
    host: b.host,
    port: b.port ?? 5060,
    transport: b.transport ?? 'udp',
    username: b.username ?? null,
    passwordSealed: b.password === undefined ? null : secrets.seal(b.password),
    realm: b.realm ?? null,
    callerId: b.caller_id ?? null,
    register: b.register ?? false,
    codecs: b.codecs ?? ['PCMU', 'PCMA'],
    allowedIps: b.allowed_ips ?? [],
    isDefault: b.default,
  };
}

type Row = Selectable<TrunksTable>;

const toTrunk = (r: Row): Trunk => ({
  id: r.id,
  instanceId: r.instance_id,
  name: r.name,
  host: r.host,
  port: r.port,
  transport: r.transport as SipTransport,
  username: r.username,
  hasPassword: r.password_sealed !== null,
  realm: r.realm,
  callerId: r.caller_id,
  register: Boolean(r.register),
  codecs: JSON.parse(r.codecs) as G711Codec[],
  allowedIps: JSON.parse(r.allowed_ips) as string[],
  isDefault: Boolean(r.is_default),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The rules beyond the schema (also for the CLI): a real host, parseable IP blocks, credentials to register with. */
export function checkTrunkFields(f: TrunkFields): void {
  if (!isHost(f.host)) throw new AppError('bad_request', `host: "${f.host}" is not a host name or an IP address`);
  f.allowedIps.forEach((entry, i) => {
    if (!parseIpBlock(entry)) throw new AppError('bad_request', `allowed_ips.${i}: "${entry}" is not an IPv4/IPv6 address or CIDR block`);
  });
  if (f.register && (f.username === null || f.passwordSealed === null)) {
    throw new AppError('bad_request', 'register: registering needs a username and a password');
  }
}

export class TrunkStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  /** Validates, enforces the unique name and the one default; 400/409 as AppError. */
  async create(input: NewTrunk): Promise<Trunk> {
    checkTrunkFields(input);
    const id = this.ids.next();
    const now = new Date().toISOString();
    await writeUnique(() => this.db.transaction().execute(async (trx) => {
      await this.assertNameFree(trx, input.instanceId, input.name, null);
      const hasDefault = await trx.selectFrom('trunks').select('id').where('instance_id', '=', input.instanceId).where('is_default', '=', 1).executeTakeFirst();
      const isDefault = input.isDefault === true || !hasDefault;
      if (isDefault && hasDefault) await trx.updateTable('trunks').set({ is_default: 0, updated_at: now }).where('id', '=', hasDefault.id).execute();
      await trx
        .insertInto('trunks')
        .values({
          id,
          instance_id: input.instanceId,
          name: input.name,
          host: input.host,
          port: input.port,
          transport: input.transport,
          username: input.username,
          password_sealed: input.passwordSealed,
          realm: input.realm,
          caller_id: input.callerId,
          register: input.register ? 1 : 0,
          codecs: JSON.stringify(input.codecs),
          allowed_ips: JSON.stringify(input.allowedIps),
          is_default: isDefault ? 1 : 0,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }), `a trunk named ${input.name} already exists`);
    return (await this.get(input.instanceId, id))!;
  }

  /** Applies the changes (omitted fields keep their value); 404 for another instance's or an unknown trunk. */
  async update(instanceId: string, id: string, changes: TrunkChanges): Promise<Trunk> {
    const now = new Date().toISOString();
    await writeUnique(() => this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('trunks').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
      if (!row) throw new AppError('not_found', `no trunk ${id}`);
      const current = toTrunk(row);
      const merged: TrunkFields = {
        name: changes.name ?? current.name,
        host: changes.host ?? current.host,
        port: changes.port ?? current.port,
        transport: changes.transport ?? current.transport,
        username: changes.username !== undefined ? changes.username : current.username,
        passwordSealed: changes.passwordSealed !== undefined ? changes.passwordSealed : row.password_sealed,
        realm: changes.realm !== undefined ? changes.realm : current.realm,
        callerId: changes.callerId !== undefined ? changes.callerId : current.callerId,
        register: changes.register ?? current.register,
        codecs: changes.codecs ?? current.codecs,
        allowedIps: changes.allowedIps ?? current.allowedIps,
      };
      checkTrunkFields(merged);
      if (merged.name !== current.name) await this.assertNameFree(trx, instanceId, merged.name, id);
      if (changes.isDefault === false && current.isDefault) {
        throw new AppError('conflict', `trunk ${current.name} is the default; make another trunk the default instead`);
      }
      if (changes.isDefault === true && !current.isDefault) {
        await trx.updateTable('trunks').set({ is_default: 0, updated_at: now }).where('instance_id', '=', instanceId).where('is_default', '=', 1).execute();
      }
      await trx
        .updateTable('trunks')
        .set({
          name: merged.name,
          host: merged.host,
          port: merged.port,
          transport: merged.transport,
          username: merged.username,
          password_sealed: merged.passwordSealed,
          realm: merged.realm,
          caller_id: merged.callerId,
          register: merged.register ? 1 : 0,
          codecs: JSON.stringify(merged.codecs),
          allowed_ips: JSON.stringify(merged.allowedIps),
          is_default: changes.isDefault === true || current.isDefault ? 1 : 0,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    }), `trunk ${id} was changed at the same time; try again`);
    return (await this.get(instanceId, id))!;
  }

  async get(instanceId: string, id: string): Promise<Trunk | undefined> {
    const row = await this.db.selectFrom('trunks').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
    return row && toTrunk(row);
  }

  /** Any instance's trunk by id (the SIP gateway, which learns the instance from the trunk). */
  async byId(id: string): Promise<Trunk | undefined> {
    const row = await this.db.selectFrom('trunks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTrunk(row);
  }

  async byName(instanceId: string, name: string): Promise<Trunk | undefined> {
    const row = await this.db.selectFrom('trunks').selectAll().where('instance_id', '=', instanceId).where('name', '=', name).executeTakeFirst();
    return row && toTrunk(row);
  }

  /** The instance's trunks, by name. */
  async list(instanceId: string): Promise<Trunk[]> {
    return (await this.db.selectFrom('trunks').selectAll().where('instance_id', '=', instanceId).orderBy('name').execute()).map(toTrunk);
  }

  /** Every instance's trunks (the gateway registers them all and matches inbound sources against them). */
  async listAll(): Promise<Trunk[]> {
    return (await this.db.selectFrom('trunks').selectAll().orderBy('instance_id').orderBy('name').execute()).map(toTrunk);
  }

  /** The instance's outbound trunk; undefined only when it has no trunk. */
  async defaultOf(instanceId: string): Promise<Trunk | undefined> {
    const row = await this.db.selectFrom('trunks').selectAll().where('instance_id', '=', instanceId).where('is_default', '=', 1).executeTakeFirst();
    return row && toTrunk(row);
  }

  /** The credentials with the password still sealed. */
  async credentials(id: string): Promise<{ username: string | null; passwordSealed: string | null; realm: string | null } | undefined> {
    const row = await this.db.selectFrom('trunks').select(['username', 'password_sealed', 'realm']).where('id', '=', id).executeTakeFirst();
    return row && { username: row.username, passwordSealed: row.password_sealed, realm: row.realm };
  }

  /** The trunk with its password opened by `box` (SecretPurposes.trunkPassword); throws SecretBoxError if it does not open. */
  async withSecret(id: string, box: SecretBox): Promise<TrunkWithSecret | undefined> {
    const row = await this.db.selectFrom('trunks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return { ...toTrunk(row), password: row.password_sealed === null ? null : box.open(row.password_sealed) };
  }

  /**
   * Deletes a trunk; 404 when unknown, 409 while numbers arrive on it (delete or re-create them first). When it was the
   * default, the oldest remaining trunk becomes the default.
   */
  async remove(instanceId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('trunks').select(['id', 'name', 'is_default']).where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
      if (!row) throw new AppError('not_found', `no trunk ${id}`);
      const numbers = await trx.selectFrom('phone_numbers').select('number').where('trunk_id', '=', id).orderBy('number').execute();
      if (numbers.length > 0) {
        const shown = numbers.slice(0, 5).map((n) => n.number).join(', ');
        throw new AppError('conflict', `trunk ${row.name} still has ${numbers.length} number${numbers.length === 1 ? '' : 's'} (${shown}${numbers.length > 5 ? ', ...' : ''}); delete them first`);
      }
      await trx.deleteFrom('trunks').where('id', '=', id).execute();
      if (row.is_default) {
        const next = await trx.selectFrom('trunks').select('id').where('instance_id', '=', instanceId).orderBy('created_at').orderBy('id').executeTakeFirst();
        if (next) await trx.updateTable('trunks').set({ is_default: 1, updated_at: new Date().toISOString() }).where('id', '=', next.id).execute();
      }
    });
  }

  private async assertNameFree(trx: Pick<Db, 'selectFrom'>, instanceId: string, name: string, except: string | null): Promise<void> {
    const clash = await trx.selectFrom('trunks').select('id').where('instance_id', '=', instanceId).where('name', '=', name).executeTakeFirst();
    if (clash && clash.id !== except) throw new AppError('conflict', `a trunk named ${name} already exists`);
  }
}
