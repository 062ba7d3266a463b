// Routing targets beside users: queues (members, strategy, timeout, overflow) and IVR menus (prompt, digit choices).
import type { Db } from './db.js';
import { writeUnique } from './unique-keys.js';

export type QueueStrategy = 'ring-all' | 'round-robin' | 'longest-idle';

export interface Queue {
  id: string;
  instanceId: string;
  number: string;
  name: string;
  strategy: QueueStrategy;
  members: string[];
  ringTimeout: number;
  overflow: string | null;
  record: boolean;
}

export interface IvrMenu {
  id: string;
  instanceId: string;
  number: string;
  name: string;
  options: Record<string, string>;
  promptPath: string;
}

export class RoutingStore {
  constructor(private readonly db: Db) {}

  async insertQueue(q: Queue): Promise<void> {
    await writeUnique(() => this.db
      .insertInto('queues')
      .values({
        id: q.id,
        instance_id: q.instanceId,
        number: q.number,
        name: q.name,
        strategy: q.strategy,
        members: JSON.stringify(q.members),
        ring_timeout: q.ringTimeout,
        overflow: q.overflow,
        record: q.record ? 1 : 0,
        created_at: new Date().toISOString(),
      })
      .execute(), `number ${q.number} is already in use`);
  }

  async queues(instanceId: string): Promise<Queue[]> {
    const rows = await this.db.selectFrom('queues').selectAll().where('instance_id', '=', instanceId).orderBy('number').execute();
    return rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      number: r.number,
      name: r.name,
      strategy: r.strategy as QueueStrategy,
      members: JSON.parse(r.members) as string[],
      ringTimeout: r.ring_timeout,
      overflow: r.overflow,
      record: Boolean(r.record),
    }));
  }

  async queue(instanceId: string, number: string): Promise<Queue | undefined> {
    return (await this.queues(instanceId)).find((q) => q.number === number);
  }

  async insertIvr(m: IvrMenu): Promise<void> {
    await writeUnique(() => this.db
      .insertInto('ivr_menus')
      .values({
        id: m.id,
        instance_id: m.instanceId,
        number: m.number,
        name: m.name,
        options: JSON.stringify(m.options),
        prompt_path: m.promptPath,
        created_at: new Date().toISOString(),
      })
      .execute(), `number ${m.number} is already in use`);
  }

  async ivrMenus(instanceId: string): Promise<IvrMenu[]> {
    const rows = await this.db.selectFrom('ivr_menus').selectAll().where('instance_id', '=', instanceId).orderBy('number').execute();
    return rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      number: r.number,
      name: r.name,
      options: JSON.parse(r.options) as Record<string, string>,
      promptPath: r.prompt_path,
    }));
  }

  async ivr(instanceId: string, number: string): Promise<IvrMenu | undefined> {
    return (await this.ivrMenus(instanceId)).find((m) => m.number === number);
  }

  /** Deletes a queue or IVR by number; returns what was deleted. */
  async remove(instanceId: string, number: string): Promise<'queue' | 'ivr' | null> {
    const q = await this.db.deleteFrom('queues').where('instance_id', '=', instanceId).where('number', '=', number).executeTakeFirst();
    if (Number(q.numDeletedRows) > 0) return 'queue';
    const m = await this.db.deleteFrom('ivr_menus').where('instance_id', '=', instanceId).where('number', '=', number).executeTakeFirst();
    return Number(m.numDeletedRows) > 0 ? 'ivr' : null;
  }
}
