// Publishes call.started, call.answered and call.completed for every call, from the call store's lifecycle writes; a call
// with an AI agent on it completes with the agent's key, its seed 004 call id and the transcript.
import type { FastifyBaseLogger } from 'fastify';
import type { AgentCallStore } from '../store/agent-calls.js';
import type { CallChange, CallRow, CallStore } from '../store/calls.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import type { WebhookEvents, WebhookEventType } from './events.js';

const TYPES: Record<CallChange, WebhookEventType> = { started: 'call.started', answered: 'call.answered', ended: 'call.completed' };

/** The event's `data`: who, which way and when; a completed call adds its outcome and durations (seconds). */
export function callEventData(change: CallChange, r: CallRow): Record<string, unknown> {
  const who = { call_id: r.id, from: r.from_number, to: r.to_number, direction: r.direction };
  if (change === 'started') return { ...who, started_at: r.started_at };
  if (change === 'answered') return { ...who, started_at: r.started_at, answered_at: r.answered_at };
  return { ...who, disposition: r.disposition, duration: r.duration, talk_time: r.talk_time, started_at: r.started_at, answered_at: r.answered_at, ended_at: r.ended_at };
}

/** What a completed agent call adds: `agent: {key, call_id, transcript}` (the transcript as seed 004 writes it). */
async function agentData(agentCalls: AgentCallStore, callId: string): Promise<Record<string, unknown>> {
  const agentCall = await agentCalls.byCallId(callId);
  if (!agentCall) return {};
  return { agent: { key: agentCall.agent_key, call_id: agentCall.service_id, transcript: await agentCalls.transcript(agentCall) } };
}

/**
 * A call's events are queued one after another, in the order of its lifecycle writes: the dispatcher delivers a webhook's
 * events oldest first, one at a time, so an event queued before the previous one committed (call.completed waits for its
 * agent data; call.answered may still be in its transaction) could otherwise be delivered first.
 */
export function publishCallEvents(calls: CallStore, agentCalls: AgentCallStore, events: WebhookEvents, log: FastifyBaseLogger): void {
  const queuing = new KeyedQueue();
  calls.onChange = (change, row) => {
    queuing
      .run(row.id, async () => {
        const more = change === 'ended' ? await agentData(agentCalls, row.id) : {};
        await events.publish(row.instance_id, TYPES[change], { ...callEventData(change, row), ...more });
      })
      .catch((err: unknown) => log.error({ err, callId: row.id }, `webhooks: could not queue ${TYPES[change]}`));
  };
}
