// The publishing port for integrators' webhooks: an event becomes one persisted pending delivery per subscribed webhook.
import type { Delivery, WebhookStore } from '../store/webhooks.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';

/** Event types a webhook can subscribe to (`*`: all of them). */
export const WEBHOOK_EVENT_TYPES = ['call.started', 'call.answered', 'call.completed', 'agent.turn'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const ALL_EVENTS = '*';

/** The JSON body every delivery of an event POSTs. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  /** ISO 8601 UTC. */
  created_at: string;
  instance_id: string;
  data: Record<string, unknown>;
}

export class WebhookEvents {
  constructor(
    private readonly store: WebhookStore,
    private readonly ids: SnowflakeGenerator,
    /** Told when deliveries were queued, so the dispatcher sends them now rather than at its next poll. */
    private readonly queued: () => void,
  ) {}

  /**
   * Queues the event for every webhook of the instance subscribed to `type`, in one transaction, and returns the event
   * (delivery happens later, off the caller's path). Rejects only when the database write fails.
   */
  async publish(instanceId: string, type: WebhookEventType, data: Record<string, unknown>): Promise<WebhookEvent> {
    const now = new Date();
    const event: WebhookEvent = { id: this.ids.next(), type, created_at: now.toISOString(), instance_id: instanceId, data };
    if ((await this.store.enqueue(instanceId, { id: event.id, type, payload: JSON.stringify(event) }, now)) > 0) this.queued();
    return event;
  }

  /** Queues a past delivery's event again (same event id and body); undefined when the webhook has no such delivery. */
  async replay(instanceId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const delivery = await this.store.replay(instanceId, webhookId, deliveryId, new Date());
    if (delivery) this.queued();
    return delivery;
  }
}
