// Instances (tenants): every key, user and call belongs to one; the first start creates the default.
import { randomUUID } from 'node:crypto';
import { AppError } from '../util/errors.js';
import type { Db } from './db.js';

export const DEFAULT_INSTANCE_NAME = 'default';

export interface Instance {
  id: string;
  name: string;
  createdAt: string;
}

const toInstance = (r: { id: string; name: string; created_at: string }): Instance => ({ id: r.id, name: r.name, createdAt: r.created_at });

export class InstanceStore {
  constructor(private readonly db: Db) {}

  /** The oldest instance, created on first start. */
  async ensureDefault(): Promise<string> {
    const existing = await this.db.selectFrom('instances').select('id').orderBy('created_at').limit(1).executeTakeFirst();
    if (existing) return existing.id;
    return (await this.create(DEFAULT_INSTANCE_NAME)).id;
  }

  async create(name: string): Promise<Instance> {
    const instance = { id: randomUUID(), name, created_at: new Date().toISOString() };
    await this.db.insertInto('instances').values(instance).execute();
    return toInstance(instance);
  }

  async get(id: string): Promise<Instance | undefined> {
    const row = await this.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInstance(row);
  }

  /** Every instance, oldest (the default) first. */
  async list(): Promise<Instance[]> {
    return (await this.db.selectFrom('instances').selectAll().orderBy('created_at').orderBy('id').execute()).map(toInstance);
  }

  /**
   * Deletes an instance and everything that belongs to it (keys, users, calls and their steps, turns and counters,
   * routing, trunks, numbers, bots, channels, the voice channel, agents, webhooks) in one transaction. 404 when
   * unknown; 409 for the default instance and while the instance has a live call. Returns the files its rows named
   * (recordings, IVR prompts) for the caller to remove.
   */
  async remove(id: string): Promise<{ files: string[] }> {
    if (id === (await this.ensureDefault())) throw new AppError('conflict', 'the default instance cannot be deleted');
    return this.db.transaction().execute(async (trx) => {
      if (!(await trx.selectFrom('instances').select('id').where('id', '=', id).executeTakeFirst())) throw new AppError('not_found', `no instance ${id}`);
      const live = await trx.selectFrom('calls').select('id').where('instance_id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
      const liveAgent = await trx.selectFrom('agent_calls').select('call_id').where('instance_id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
      if (live || liveAgent) throw new AppError('conflict', `instance ${id} has calls in progress; delete it once they ended`);
      const recordings = await trx.selectFrom('calls').select('recording_path').where('instance_id', '=', id).where('recording_path', 'is not', null).execute();
      const prompts = await trx.selectFrom('ivr_menus').select('prompt_path').where('instance_id', '=', id).execute();
      const callsOf = trx.selectFrom('calls').select('id').where('instance_id', '=', id);
      const agentCallsOf = trx.selectFrom('agent_calls').select('call_id').where('instance_id', '=', id);
      await trx.deleteFrom('agent_turns').where('call_id', 'in', agentCallsOf).execute();
      await trx.deleteFrom('call_steps').where('call_id', 'in', callsOf).execute();
      // Children before the rows they reference; `calls` before `users` and `channels`; api_keys and the instance last.
      const tables = [
        'agent_calls',
        'webhook_deliveries',
        'webhooks',
        'calls',
        'call_counters',
        'phone_numbers',
        'trunks',
        'queues',
        'ivr_menus',
        'bots',
        'channels',
        'users',
        'voice_channels',
        'agents',
        'api_keys',
      ] as const;
      for (const table of tables) await trx.deleteFrom(table).where('instance_id', '=', id).execute();
      await trx.deleteFrom('instances').where('id', '=', id).execute();
      return { files: [...recordings.map((r) => r.recording_path!), ...prompts.map((p) => p.prompt_path)] };
    });
  }
}
