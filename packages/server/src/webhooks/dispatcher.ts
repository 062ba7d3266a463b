// The webhook delivery worker: POSTs due deliveries signed Stripe-style, retries with exponential backoff from the persisted queue.
import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { SecretBox } from '../auth/secret-box.js';
import type { DueDelivery, WebhookStore } from '../store/webhooks.js';

export interface WebhookDeliveryConfig {
  /** The first retry waits about this long; each further one twice as long (with ±20 % jitter). */
  retryBaseMs: number;
  /** No retry waits longer. */
  retryMaxMs: number;
  /** Attempts in all before a delivery is `failed`. */
  maxAttempts: number;
  /** An attempt that has not answered by then failed. */
  timeoutMs: number;
}

/** Deliveries in flight at once, across all webhooks (one per webhook). */
const CONCURRENCY = 8;
/** The longest the worker sleeps between looks at the queue. */
const POLL_MS = 5_000;
const ERROR_CHARS = 500;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: Stripe's signature scheme under the webhook's secret. */
export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** How long to wait after `attempts` failed attempts. */
export function backoffMs(attempts: number, config: Pick<WebhookDeliveryConfig, 'retryBaseMs' | 'retryMaxMs'>, random = Math.random()): number {
  const delay = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (attempts - 1));
  return Math.round(delay * (0.8 + 0.4 * random));
}

export class WebhookDispatcher {
  /** Deliveries being sent, by webhook id. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  /** A look at the queue is running; `again` asks for one more when it is done. */
  private looking = false;
  private again = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly secrets: SecretBox,
    private readonly config: WebhookDeliveryConfig,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Starts sending: deliveries already due (left by a previous run) go at once. */
  start(): void {
    this.kick();
  }

  /** Looks at the queue now (deliveries were queued, or one finished). */
  kick(): void {
    if (this.stopping.signal.aborted) return;
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = true;
    void this.look()
      .catch((err: unknown) => this.log.error({ err }, 'webhooks: could not read the delivery queue'))
      .finally(() => {
        this.looking = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops: no new attempts; attempts in flight are abandoned and stay pending (the next start sends them again). */
  async close(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled(this.inFlight.values());
  }

  private async look(): Promise<void> {
    const free = CONCURRENCY - this.inFlight.size;
    const busy = new Set(this.inFlight.keys());
    const due = free > 0 ? await this.store.due(new Date(), free, busy) : [];
    for (const delivery of due) {
      if (this.stopping.signal.aborted) return;
      busy.add(delivery.webhookId);
      const sending = this.send(delivery)
        .catch((err: unknown) => this.log.error({ err, deliveryId: delivery.id }, 'webhooks: could not record a delivery attempt'))
        .finally(() => {
          this.inFlight.delete(delivery.webhookId);
          this.kick();
        });
      this.inFlight.set(delivery.webhookId, sending);
    }
    this.schedule(await this.store.nextDueAt(busy));
  }

  private schedule(next: Date | null): void {
    if (this.stopping.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = next ? Math.min(POLL_MS, Math.max(0, next.getTime() - Date.now())) : POLL_MS;
    this.timer = setTimeout(() => this.kick(), delay).unref();
  }

  /** One attempt; its outcome is written to the delivery (delivered, retry at, or failed). */
  private async send(d: DueDelivery): Promise<void> {
    const attempts = d.attempts + 1;
    let statusCode: number | null = null;
    let error: string;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Astral-Webhooks/1',
          'astral-signature': signatureHeader(this.secrets.open(d.secretSealed), d.payload, new Date()),
          'astral-event-id': d.eventId,
          'astral-event-type': d.eventType,
        },
        body: d.payload,
        redirect: 'manual',
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return await this.store.markDelivered(d.id, attempts, res.status, new Date());
      statusCode = res.status;
      error = `HTTP ${res.status}`;
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      const e = err as Error & { cause?: Error };
      error = e.name === 'TimeoutError' ? `no answer within ${this.config.timeoutMs} ms` : (e.cause?.message ?? e.message);
    }
    const nextAttemptAt = attempts < this.config.maxAttempts ? new Date(Date.now() + backoffMs(attempts, this.config)) : null;
    this.log.warn({ deliveryId: d.id, webhookId: d.webhookId, eventType: d.eventType, attempts, statusCode, error, retry: nextAttemptAt !== null }, 'webhooks: delivery attempt failed');
    await this.store.markFailedAttempt(d.id, { attempts, statusCode, error: error.slice(0, ERROR_CHARS), nextAttemptAt });
  }
}
