// Call detail records: written at dial, updated at answer and at end; read back as CallRecord.
import type { CallRecord } from '@astral/protocol';
import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { CallsTable } from './schema.js';

export type CallRow = Selectable<CallsTable>;

export interface NewCall {
  id: string;
  instanceId: string;
  fromUserId: string;
  toUserId: string | null;
  fromNumber: string;
  toNumber: string;
  direction: CallRecord['direction'];
  startedAt: Date;
  channelId?: string | null;
}

export interface CallEnd {
  disposition: NonNullable<CallRecord['disposition']>;
  endReason: NonNullable<CallRecord['end_reason']>;
  endedAt: Date;
  duration: number;
  talkTime: number;
}

export const toCallRecord = (r: CallRow): CallRecord => ({
  id: r.id,
  from: r.from_number,
  to: r.to_number,
  direction: r.direction as CallRecord['direction'],
  status: r.status as CallRecord['status'],
  disposition: r.disposition as CallRecord['disposition'],
  end_reason: r.end_reason as CallRecord['end_reason'],
  started_at: r.started_at,
  answered_at: r.answered_at,
  ended_at: r.ended_at,
  duration: r.duration,
  talk_time: r.talk_time,
});

/** A call's lifecycle write: dialled (inserted), answered, ended. */
export type CallChange = 'started' | 'answered' | 'ended';

export class CallStore {
  /** Told after each lifecycle write, with the row as written (outgoing webhooks publish call events from it); must not throw. */
  onChange: ((change: CallChange, row: CallRow) => void) | null = null;

  constructor(private readonly db: Db) {}

  async insert(call: NewCall): Promise<void> {
    const row = await this.db
      .insertInto('calls')
      .values({
        id: call.id,
        instance_id: call.instanceId,
        from_user_id: call.fromUserId,
        to_user_id: call.toUserId,
        from_number: call.fromNumber,
        to_number: call.toNumber,
        direction: call.direction,
        status: 'ringing',
        disposition: null,
        end_reason: null,
        started_at: call.startedAt.toISOString(),
        answered_at: null,
        ended_at: null,
        channel_id: call.channelId ?? null,
      })
      .returningAll()
      .executeTakeFirst();
    this.changed('started', row);
  }

  async markAnswered(id: string, answeredAt: Date): Promise<void> {
    const row = await this.db
      .updateTable('calls')
      .set({ status: 'in-progress', answered_at: answeredAt.toISOString() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    this.changed('answered', row);
  }

  async markEnded(id: string, end: CallEnd): Promise<void> {
    const row = await this.db
      .updateTable('calls')
      .set({
        status: 'completed',
        disposition: end.disposition,
        end_reason: end.endReason,
        ended_at: end.endedAt.toISOString(),
        duration: end.duration,
        talk_time: end.talkTime,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    this.changed('ended', row);
  }

  /** Calls left open by a crash or kill: closed as FAILED at the next start. */
  async closeDangling(now: Date): Promise<number> {
    const result = await this.db
      .updateTable('calls')
      .set({ status: 'completed', disposition: 'FAILED', end_reason: 'disconnected', ended_at: now.toISOString() })
      .where('status', '!=', 'completed')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async setRecordingPath(id: string, path: string | null): Promise<void> {
    await this.db.updateTable('calls').set({ recording_path: path }).where('id', '=', id).execute();
  }

  get(instanceId: string, id: string): Promise<CallRow | undefined> {
    return this.db.selectFrom('calls').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
  }

  private changed(change: CallChange, row: CallRow | undefined): void {
    if (row) this.onChange?.(change, row);
  }
}
