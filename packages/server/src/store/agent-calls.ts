// Agent calls (seed 004's call object) and their transcript turns: written as the call progresses, read by /v1/calls.
import { sql, type Selectable } from 'kysely';
import type { Db } from './db.js';
import { callSeconds } from './calls.js';
import type { AgentCallsTable } from './schema.js';

export type AgentCallRow = Selectable<AgentCallsTable>;

/** Seed 004's statuses. */
export type AgentCallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed';
export const FINAL_STATUSES: readonly AgentCallStatus[] = ['completed', 'busy', 'no-answer', 'failed'];

/** Seconds the agent call has been talking: from its answer to its end (or to `now` while it lasts). */
export function agentTalkSeconds(row: Pick<AgentCallRow, 'created_at' | 'answered_at' | 'ended_at'>, now = new Date()): number {
  const answeredAt = row.answered_at ? new Date(row.answered_at) : null;
  return callSeconds(new Date(row.created_at), answeredAt, row.ended_at ? new Date(row.ended_at) : now).talkTime;
}

export interface NewAgentCall {
  callId: string;
  serviceId: string;
  instanceId: string;
  agentKey: string;
  phone: string;
  direction: 'inbound' | 'outbound';
  status: AgentCallStatus;
  providerCallId: string;
  createdAt: Date;
}

/** The provider's own final result for a call (the call-completed webhook). */
export interface ProviderResult {
  status: string;
  transcript: string;
  duration: number;
}

export interface Turn {
  role: 'agent' | 'user';
  text: string;
  at: string;
}

export class AgentCallStore {
  constructor(private readonly db: Db) {}

  async insert(call: NewAgentCall): Promise<void> {
    await this.db
      .insertInto('agent_calls')
      .values({
        call_id: call.callId,
        service_id: call.serviceId,
        instance_id: call.instanceId,
        agent_key: call.agentKey,
        phone: call.phone,
        direction: call.direction,
        status: call.status,
        provider_call_id: call.providerCallId,
        result_status: null,
        result_transcript: null,
        result_duration: null,
        result_at: null,
        created_at: call.createdAt.toISOString(),
        answered_at: null,
        ended_at: null,
      })
      .execute();
  }

  async setStatus(callId: string, status: AgentCallStatus, at: Date): Promise<void> {
    const stamp = at.toISOString();
    await this.db
      .updateTable('agent_calls')
      .set({
        status,
        ...(status === 'in-progress' ? { answered_at: stamp } : {}),
        ...(FINAL_STATUSES.includes(status) ? { ended_at: stamp } : {}),
      })
      .where('call_id', '=', callId)
      .execute();
  }

  /** The provider's own id of the call, once it gave one (Retell's call_id from register-phone-call). */
  async setProviderCallId(callId: string, providerCallId: string): Promise<void> {
    await this.db.updateTable('agent_calls').set({ provider_call_id: providerCallId }).where('call_id', '=', callId).execute();
  }

  /** Appends a turn; its sequence number follows the call's last. */
  async addTurn(callId: string, turn: Turn): Promise<void> {
    await this.db
      .insertInto('agent_turns')
      .values((eb) => ({
        call_id: callId,
        seq: eb.selectFrom('agent_turns').select(sql<number>`coalesce(max(seq), 0) + 1`.as('next')).where('call_id', '=', callId),
        role: turn.role,
        text: turn.text,
        at: turn.at,
      }))
      .execute();
  }

  /**
   * The conversation in the order it was spoken: by when each turn started. (An agent's turn is stored once it has been
   * said, so a caller who spoke over it may have been stored first.)
   */
  turns(callId: string): Promise<Turn[]> {
    return this.db
      .selectFrom('agent_turns')
      .select(['role', 'text', 'at'])
      .where('call_id', '=', callId)
      .orderBy('at')
      .orderBy('seq')
      .execute() as Promise<Turn[]>;
  }

  /** Seed 004's transcript (`agent: Hello\nuser: Hi`): the provider's final one once it sent it, else the stored turns. */
  async transcript(row: Pick<AgentCallRow, 'call_id' | 'result_transcript'>): Promise<string> {
    if (row.result_transcript) return row.result_transcript;
    return (await this.turns(row.call_id)).map((t) => `${t.role}: ${t.text}`).join('\n');
  }

  byServiceId(instanceId: string, serviceId: string): Promise<AgentCallRow | undefined> {
    return this.db.selectFrom('agent_calls').selectAll().where('instance_id', '=', instanceId).where('service_id', '=', serviceId).executeTakeFirst();
  }

  byCallId(callId: string): Promise<AgentCallRow | undefined> {
    return this.db.selectFrom('agent_calls').selectAll().where('call_id', '=', callId).executeTakeFirst();
  }

  /** Provider call ids are unique across instances: a provider's webhook names the call, and so its instance. */
  byProviderCallId(providerCallId: string): Promise<AgentCallRow | undefined> {
    return this.db.selectFrom('agent_calls').selectAll().where('provider_call_id', '=', providerCallId).executeTakeFirst();
  }

  /** Stores the provider's final result once: true when stored, false when one was already there (idempotent). */
  async storeResult(callId: string, result: ProviderResult, at: Date): Promise<boolean> {
    const res = await this.db
      .updateTable('agent_calls')
      .set({ result_status: result.status, result_transcript: result.transcript, result_duration: result.duration, result_at: at.toISOString() })
      .where('call_id', '=', callId)
      .where('result_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async countActive(instanceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('agent_calls')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', instanceId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Seed 003's active call list: the caller, how long the call has lasted, its state and how many turns so far. */
  async listActive(
    instanceId: string,
    now = new Date(),
  ): Promise<{ call_id: string; caller_phone: string; duration_seconds: number; state: string; transcript_turns: number }[]> {
    const rows = await this.db
      .selectFrom('agent_calls as c')
      .leftJoin('agent_turns as t', 't.call_id', 'c.call_id')
      .select(['c.service_id', 'c.phone', 'c.status', 'c.created_at', 'c.answered_at', (eb) => eb.fn.count<number>('t.seq').as('turns')])
      .where('c.instance_id', '=', instanceId)
      .where('c.ended_at', 'is', null)
      .groupBy(['c.call_id', 'c.service_id', 'c.phone', 'c.status', 'c.created_at', 'c.answered_at'])
      .orderBy('c.created_at')
      .execute();
    return rows.map((r) => ({
      call_id: r.service_id,
      caller_phone: r.phone,
      duration_seconds: agentTalkSeconds({ ...r, ended_at: null }, now),
      state: r.status,
      transcript_turns: Number(r.turns),
    }));
  }

  /** Calls left open by a previous run (crash, restart) end as failed, as the call records do. */
  async closeDangling(at: Date): Promise<number> {
    const res = await this.db
      .updateTable('agent_calls')
      .set({ status: 'failed', ended_at: at.toISOString() })
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}
