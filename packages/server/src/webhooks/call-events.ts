// Publishes call.started, call.answered and call.completed for every call, from the call store's lifecycle writes.
import type { FastifyBaseLogger } from 'fastify';
import type { CallChange, CallRow, CallStore } from '../store/calls.js';
import type { WebhookEvents, WebhookEventType } from './events.js';

const TYPES: Record<CallChange, WebhookEventType> = { started: 'call.started', answered: 'call.answered', ended: 'call.completed' };

/** The event's `data`: who, which way and when; a completed call adds its outcome and durations (seconds). */
export function callEventData(change: CallChange, r: CallRow): Record<string, unknown> {
  const who = { call_id: r.id, from: r.from_number, to: r.to_number, direction: r.direction };
  if (change === 'started') return { ...who, started_at: r.started_at };
  if (change === 'answered') return { ...who, started_at: r.started_at, answered_at: r.answered_at };
  return { ...who, disposition: r.disposition, duration: r.duration, talk_time: r.talk_time, started_at: r.started_at, answered_at: r.answered_at, ended_at: r.ended_at };
}

export function publishCallEvents(calls: CallStore, events: WebhookEvents, log: FastifyBaseLogger): void {
  calls.onChange = (change, row) => {
    events.publish(row.instance_id, TYPES[change], callEventData(change, row)).catch((err: unknown) => log.error({ err, callId: row.id }, `webhooks: could not queue ${TYPES[change]}`));
  };
}
