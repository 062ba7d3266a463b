// Integrators' event webhooks and their persisted delivery queue: one row per (event, webhook), scheduled by next_attempt_at.
import type { Selectable } from 'kysely';
import type { SnowflakeGenerator } from '../util/snowflake.js';
import type { Db } from './db.js';
import type { WebhookDeliveriesTable, WebhooksTable } from './schema.js';

export interface Webhook {
  id: string;
  instanceId: string;
  url: string;
  /** Event types it receives; `*` for all. */
  events: string[];
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  webhookId: string;
  instanceId: string;
  eventId: string;
  eventType: string;
  /** The exact JSON body to POST. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A due delivery with where it goes and the sealed secret that signs it. */
export interface DueDelivery extends Delivery {
  url: string;
  secretSealed: string;
}

/** One event to queue: its id, type and JSON body. */
export interface QueuedEvent {
  id: string;
  type: string;
  payload: string;
}

/** The outcome of one attempt that did not succeed: retried at `nextAttemptAt`, or failed for good when that is null. */
export interface FailedAttempt {
  attempts: number;
  statusCode: number | null;
  error: string;
  nextAttemptAt: Date | null;
}

const toWebhook = (r: Selectable<WebhooksTable>): Webhook => ({
  id: r.id,
  instanceId: r.instance_id,
  url: r.url,
  events: JSON.parse(r.events) as string[],
  createdAt: r.created_at,
});

const toDelivery = (r: Selectable<WebhookDeliveriesTable>): Delivery => ({
  id: r.id,
  webhookId: r.webhook_id,
  instanceId: r.instance_id,
  eventId: r.event_id,
  eventType: r.event_type,
  payload: r.payload,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

const receives = (w: Webhook, type: string): boolean => w.events.includes('*') || w.events.includes(type);

export class WebhookStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async create(input: { instanceId: string; url: string; events: string[]; secretSealed: string }): Promise<Webhook> {
    const row = { id: this.ids.next(), instance_id: input.instanceId, url: input.url, events: JSON.stringify(input.events), secret_sealed: input.secretSealed, created_at: new Date().toISOString() };
    await this.db.insertInto('webhooks').values(row).execute();
    return toWebhook(row);
  }

  async list(instanceId: string): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('instance_id', '=', instanceId).orderBy('id').execute();
    return rows.map(toWebhook);
  }

  async get(instanceId: string, id: string): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
    return row && toWebhook(row);
  }

  /** Deletes the webhook and its delivery log (pending deliveries are never sent); false when the instance has no such webhook. */
  async remove(instanceId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('webhooks').where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
      if (result.numDeletedRows === 0n) return false;
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      return true;
    });
  }

  /** Queues the event for every webhook of the instance that receives its type, in one transaction; the number queued. */
  async enqueue(instanceId: string, event: QueuedEvent, now: Date): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('webhooks').selectAll().where('instance_id', '=', instanceId).execute();
      const targets = rows.map(toWebhook).filter((w) => receives(w, event.type));
      if (targets.length === 0) return 0;
      const at = now.toISOString();
      await trx
        .insertInto('webhook_deliveries')
        .values(targets.map((w) => this.pendingRow(w.id, instanceId, event, at)))
        .execute();
      return targets.length;
    });
  }

  /** The webhook's delivery log, newest first. */
  async deliveries(instanceId: string, webhookId: string, limit: number): Promise<Delivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('webhook_id', '=', webhookId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  /** Queues a delivery's event again for its webhook: a new pending row, same event id and body; undefined when there is no such delivery. */
  async replay(instanceId: string, webhookId: string, deliveryId: string, now: Date): Promise<Delivery | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const original = await trx
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .where('webhook_id', '=', webhookId)
        .where('id', '=', deliveryId)
        .executeTakeFirst();
      if (!original) return undefined;
      const row = this.pendingRow(webhookId, instanceId, { id: original.event_id, type: original.event_type, payload: original.payload }, now.toISOString());
      await trx.insertInto('webhook_deliveries').values(row).execute();
      return toDelivery(row);
    });
  }

  /**
   * Pending deliveries due by `now`, oldest schedule first, at most one per webhook and none for `busy` webhooks (one
   * delivery in flight per webhook keeps its events in order).
   */
  async due(now: Date, limit: number, busy: ReadonlySet<string>): Promise<DueDelivery[]> {
    let query = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .selectAll('d')
      .select(['w.url', 'w.secret_sealed'])
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now.toISOString())
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit * 4);
    if (busy.size > 0) query = query.where('d.webhook_id', 'not in', [...busy]);
    const picked = new Map<string, DueDelivery>();
    for (const r of await query.execute()) {
      if (picked.size === limit) break;
      if (!picked.has(r.webhook_id)) picked.set(r.webhook_id, { ...toDelivery(r), url: r.url, secretSealed: r.secret_sealed });
    }
    return [...picked.values()];
  }

  /** How many deliveries wait to be sent (the webhook queue). */
  async pendingCount(): Promise<number> {
    const row = await this.db.selectFrom('webhook_deliveries').select(({ fn }) => fn.countAll<number>().as('n')).where('status', '=', 'pending').executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** When the next pending delivery (of a webhook not `busy`) falls due; null when none is pending. */
  async nextDueAt(busy: ReadonlySet<string>): Promise<Date | null> {
    let query = this.db.selectFrom('webhook_deliveries').select(({ fn }) => fn.min('next_attempt_at').as('at')).where('status', '=', 'pending');
    if (busy.size > 0) query = query.where('webhook_id', 'not in', [...busy]);
    const row = await query.executeTakeFirst();
    return row?.at ? new Date(row.at) : null;
  }

  async markDelivered(id: string, attempts: number, statusCode: number, at: Date): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'delivered', attempts, last_status_code: statusCode, last_error: null, next_attempt_at: null, delivered_at: at.toISOString() })
      .where('id', '=', id)
      .execute();
  }

  async markFailedAttempt(id: string, f: FailedAttempt): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: f.nextAttemptAt ? 'pending' : 'failed',
        attempts: f.attempts,
        last_status_code: f.statusCode,
        last_error: f.error,
        next_attempt_at: f.nextAttemptAt?.toISOString() ?? null,
      })
      .where('id', '=', id)
      .execute();
  }

  private pendingRow(webhookId: string, instanceId: string, event: QueuedEvent, at: string): Selectable<WebhookDeliveriesTable> {
    return {
      id: this.ids.next(),
      webhook_id: webhookId,
      instance_id: instanceId,
      event_id: event.id,
      event_type: event.type,
      payload: event.payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      last_status_code: null,
      last_error: null,
      created_at: at,
      delivered_at: null,
    };
  }
}
