// Journey steps of calls: appended as they happen, the previous step's duration closed when the next begins.
import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { CallStepsTable } from './schema.js';

export type StepRow = Selectable<CallStepsTable>;

export class JourneyStore {
  constructor(private readonly db: Db) {}

  async append(step: StepRow): Promise<void> {
    await this.db.insertInto('call_steps').values(step).execute();
  }

  async setDuration(id: string, duration: number): Promise<void> {
    await this.db.updateTable('call_steps').set({ duration }).where('id', '=', id).execute();
  }

  steps(callId: string): Promise<StepRow[]> {
    return this.db.selectFrom('call_steps').selectAll().where('call_id', '=', callId).orderBy('id').execute();
  }
}
