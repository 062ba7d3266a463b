// Phone numbers (DIDs) of an instance: an inbound call to one goes to an extension, a queue, an IVR menu (later an AI
// agent). Stored as digits; shown with a leading '+' when it was given with one.
import type { Selectable } from 'kysely';
import { AppError } from '../util/errors.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';
import type { Db } from './db.js';
import type { PhoneNumbersTable } from './schema.js';
import { writeUnique } from './unique-keys.js';

export type NumberDestinationType = 'extension' | 'queue' | 'ivr' | 'ai_agent';

export interface PhoneNumber {
  id: string;
  instanceId: string;
  /** As shown: the digits, with '+' when created with one. */
  number: string;
  /** Digits only (what lookups compare). */
  digits: string;
  destination: string;
  destinationType: NumberDestinationType;
  /** The trunk it arrives on; null: any trunk of the instance. */
  trunkId: string | null;
  createdAt: string;
}

export interface NewPhoneNumber {
  instanceId: string;
  number: string;
  destination: string;
  destinationType: NumberDestinationType;
  trunkId?: string | null;
}

/** `+15551234567` → {digits: '15551234567', plus: true}; null unless an optional '+' and 2-20 digits. */
export function normalizeNumber(text: string): { digits: string; plus: boolean } | null {
  const m = /^(\+?)([0-9]{2,20})$/.exec(text);
  return m ? { digits: m[2]!, plus: m[1] === '+' } : null;
}

type Row = Selectable<PhoneNumbersTable>;

const toNumber = (r: Row): PhoneNumber => ({
  id: r.id,
  instanceId: r.instance_id,
  number: (r.plus ? '+' : '') + r.number,
  digits: r.number,
  destination: r.destination,
  destinationType: r.destination_type as NumberDestinationType,
  trunkId: r.trunk_id,
  createdAt: r.created_at,
});

export class NumberStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  /**
   * 400 for a malformed number or a queue/IVR/agent that does not exist (an extension may
   * register later, so any is accepted); 404 for an unknown trunk; 409 when the number exists (with or without '+').
   */
  async create(input: NewPhoneNumber): Promise<PhoneNumber> {
    const n = normalizeNumber(input.number);
    if (!n) throw new AppError('bad_request', 'number: must be an optional + and 2-20 digits');
    const trunkId = input.trunkId ?? null;
    const id = this.ids.next();
    await writeUnique(() => this.db.transaction().execute(async (trx) => {
      if (trunkId !== null) {
        const trunk = await trx.selectFrom('trunks').select('id').where('instance_id', '=', input.instanceId).where('id', '=', trunkId).executeTakeFirst();
        if (!trunk) throw new AppError('not_found', `no trunk ${trunkId}`);
      }
      if (input.destinationType === 'queue' || input.destinationType === 'ivr') {
        const table = input.destinationType === 'queue' ? 'queues' : 'ivr_menus';
        const target = await trx.selectFrom(table).select('id').where('instance_id', '=', input.instanceId).where('number', '=', input.destination).executeTakeFirst();
        if (!target) throw new AppError('bad_request', `destination: no ${input.destinationType === 'queue' ? 'queue' : 'IVR menu'} ${input.destination}`);
      }
      if (input.destinationType === 'ai_agent') {
        const agent = await trx.selectFrom('agents').select('id').where('instance_id', '=', input.instanceId).where('key', '=', input.destination).executeTakeFirst();
        if (!agent) throw new AppError('bad_request', `destination: no agent "${input.destination}"`);
      }
      const clash = await trx.selectFrom('phone_numbers').select('id').where('instance_id', '=', input.instanceId).where('number', '=', n.digits).executeTakeFirst();
      if (clash) throw new AppError('conflict', `number ${input.number} already exists`);
      await trx
        .insertInto('phone_numbers')
        .values({
          id,
          instance_id: input.instanceId,
          number: n.digits,
          plus: n.plus ? 1 : 0,
          destination: input.destination,
          destination_type: input.destinationType,
          trunk_id: trunkId,
          created_at: new Date().toISOString(),
        })
        .execute();
    }), `number ${input.number} already exists`);
    return (await this.lookup(input.instanceId, n.digits))!;
  }

  async list(instanceId: string): Promise<PhoneNumber[]> {
    return (await this.db.selectFrom('phone_numbers').selectAll().where('instance_id', '=', instanceId).orderBy('number').execute()).map(toNumber);
  }

  /** The number a call dialled (`+15551234567` or `15551234567` alike); undefined when the instance has no such number. */
  async lookup(instanceId: string, dialled: string): Promise<PhoneNumber | undefined> {
    const n = normalizeNumber(dialled);
    if (!n) return undefined;
    const row = await this.db.selectFrom('phone_numbers').selectAll().where('instance_id', '=', instanceId).where('number', '=', n.digits).executeTakeFirst();
    return row && toNumber(row);
  }

  /** Deletes by number, with or without '+'; false when the instance has no such number. */
  async remove(instanceId: string, number: string): Promise<boolean> {
    const n = normalizeNumber(number);
    if (!n) return false;
    const res = await this.db.deleteFrom('phone_numbers').where('instance_id', '=', instanceId).where('number', '=', n.digits).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
