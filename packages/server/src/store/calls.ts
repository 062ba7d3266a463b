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

/** A call's whole seconds from start to end (ringing included) and from answer to end (0 when unanswered). */
export function callSeconds(startedAt: Date, answeredAt: Date | null, endedAt: Date): { duration: number; talkTime: number } {
  const seconds = (from: Date) => Math.max(0, Math.round((endedAt.getTime() - from.getTime()) / 1000));
  return { duration: seconds(startedAt), talkTime: answeredAt ? seconds(answeredAt) : 0 };
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

  /** The calls are alive now: the moment their record ends at if the server dies before ending them. */
  async heartbeat(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('calls').set({ last_seen_at: at.toISOString() }).where('id', 'in', ids).where('status', '!=', 'completed').execute();
  }

  /**
   * Calls left open by a crash or kill, closed at the next start with reason `server_restart` where they were last known
   * alive (their last heartbeat, else their answer or start): ANSWERED with the time talked when answered, else FAILED.
   */
  async closeDangling(seenBefore?: Date): Promise<number> {
    // With several nodes on one database (seenBefore set), only calls no live node keeps alive: last known alive before it.
    const open = (await this.db
      .selectFrom('calls')
      .select(['id', 'started_at', 'answered_at', 'last_seen_at'])
      .where('status', '!=', 'completed')
      .execute()).filter((c) => !seenBefore || new Date(c.last_seen_at ?? c.answered_at ?? c.started_at) < seenBefore);
    await this.db.transaction().execute(async (tx) => {
      for (const call of open) {
        const endedAt = new Date(call.last_seen_at ?? call.answered_at ?? call.started_at);
        const { duration, talkTime } = callSeconds(new Date(call.started_at), call.answered_at === null ? null : new Date(call.answered_at), endedAt);
        await tx
          .updateTable('calls')
          .set({
            status: 'completed',
            disposition: call.answered_at === null ? 'FAILED' : 'ANSWERED',
            end_reason: 'server_restart',
            ended_at: endedAt.toISOString(),
            duration,
            talk_time: talkTime,
          })
          .where('id', '=', call.id)
          .execute();
      }
    });
    return open.length;
  }

  /** Calls a lost cluster node owned, closed now by a survivor: FAILED with reason `node_lost` (already ended ones stay). */
  async closeLost(ids: readonly string[], endedAt: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const open = await this.db.selectFrom('calls').select(['id', 'started_at', 'answered_at']).where('id', 'in', ids).where('status', '!=', 'completed').execute();
    for (const call of open) {
      const { duration, talkTime } = callSeconds(new Date(call.started_at), call.answered_at === null ? null : new Date(call.answered_at), endedAt);
      await this.markEnded(call.id, { disposition: 'FAILED', endReason: 'node_lost', endedAt, duration, talkTime });
    }
    return open.length;
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
