// Integrators' event webhooks (`/v1/instances/{instance_id}/webhooks`): create, list, get, delete, delivery log, replay.
// The signing secret is shown once, at creation; it is kept sealed and never returned again.
import { NoContent } from '@astral/protocol';
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { SecretBox } from '../auth/secret-box.js';
import type { Delivery, Webhook, WebhookStore } from '../store/webhooks.js';
import { AppError } from '../util/errors.js';
import { ALL_EVENTS, WEBHOOK_EVENT_TYPES, type WebhookEvents } from '../webhooks/events.js';
import { InstanceIdParams, requireServiceKey, UnprocessableError, type ServiceAuth } from './fastapi-family.js';

export interface WebhooksApiOptions {
  auth: ServiceAuth;
  store: WebhookStore;
  events: WebhookEvents;
  /** Seals signing secrets (SecretPurposes.webhookSecret). */
  secrets: SecretBox;
}

const id = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;
const WebhookParams = { ...InstanceIdParams, required: ['instance_id', 'id'], properties: { ...InstanceIdParams.properties, id } } as const;
const DeliveryParams = { ...WebhookParams, required: [...WebhookParams.required, 'delivery_id'], properties: { ...WebhookParams.properties, delivery_id: id } } as const;

const CreateWebhookBody = {
  type: 'object',
  required: ['url', 'events'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', format: 'uri', maxLength: 2048 },
    events: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES, ALL_EVENTS] } },
  },
} as const;

const WebhookResponse = {
  type: 'object',
  required: ['id', 'url', 'events', 'created_at'],
  properties: { id: { type: 'string' }, url: { type: 'string' }, events: { type: 'array', items: { type: 'string' } }, created_at: { type: 'string' } },
} as const;
const CreatedWebhookResponse = { ...WebhookResponse, required: [...WebhookResponse.required, 'secret'], properties: { ...WebhookResponse.properties, secret: { type: 'string' } } } as const;

const nullable = (type: string) => ({ type: [type, 'null'] });
const DeliveryResponse = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    event_id: { type: 'string' },
    event_type: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    last_status_code: nullable('integer'),
    last_error: nullable('string'),
    created_at: { type: 'string' },
    next_attempt_at: nullable('string'),
    delivered_at: nullable('string'),
  },
} as const;

const DeliveriesQuery = { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 } } } as const;

const toWebhook = (w: Webhook) => ({ id: w.id, url: w.url, events: w.events, created_at: w.createdAt });
const toDelivery = (d: Delivery) => ({
  id: d.id,
  event_id: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  created_at: d.createdAt,
  next_attempt_at: d.nextAttemptAt,
  delivered_at: d.deliveredAt,
});

type InstancePath = { instance_id: string };
type WebhookPath = InstancePath & { id: string };

/** Registered inside `serviceFamily` (its FastAPI-shaped errors). */
export const webhooksApi: FastifyPluginAsync<WebhooksApiOptions> = async (v1, { auth, store, events, secrets }) => {
  const admin = requireServiceKey(auth, 'admin');
  const base = '/v1/instances/:instance_id/webhooks';
  const webhookOf = async (p: WebhookPath): Promise<Webhook> => {
    const webhook = await store.get(p.instance_id, p.id);
    if (!webhook) throw new AppError('not_found', 'Webhook not found');
    return webhook;
  };

  v1.post<{ Params: InstancePath; Body: { url: string; events: string[] } }>(
    base,
    { schema: { params: InstanceIdParams, body: CreateWebhookBody, response: { 201: CreatedWebhookResponse } }, ...admin },
    async (request, reply) => {
      const { url, events: types } = request.body;
      if (!/^https?:\/\/[^/]/i.test(url)) throw UnprocessableError.field(['body', 'url'], "URL scheme should be 'http' or 'https'", 'url_scheme');
      const secret = `whsec_${randomBytes(24).toString('base64url')}`;
      const webhook = await store.create({ instanceId: request.params.instance_id, url, events: [...new Set(types)], secretSealed: secrets.seal(secret) });
      return reply.status(201).send({ ...toWebhook(webhook), secret });
    },
  );

  v1.get<{ Params: InstancePath }>(base, { schema: { params: InstanceIdParams, response: { 200: { type: 'array', items: WebhookResponse } } }, ...admin }, async (request) =>
    (await store.list(request.params.instance_id)).map(toWebhook),
  );

  v1.get<{ Params: WebhookPath }>(`${base}/:id`, { schema: { params: WebhookParams, response: { 200: WebhookResponse } }, ...admin }, async (request) =>
    toWebhook(await webhookOf(request.params)),
  );

  v1.delete<{ Params: WebhookPath }>(`${base}/:id`, { schema: { params: WebhookParams, response: { 204: NoContent } }, ...admin }, async (request, reply) => {
    if (!(await store.remove(request.params.instance_id, request.params.id))) throw new AppError('not_found', 'Webhook not found');
    return reply.status(204).send();
  });

  v1.get<{ Params: WebhookPath; Querystring: { limit: number } }>(
    `${base}/:id/deliveries`,
    { schema: { params: WebhookParams, querystring: DeliveriesQuery, response: { 200: { type: 'array', items: DeliveryResponse } } }, ...admin },
    async (request) => {
      const webhook = await webhookOf(request.params);
      return (await store.deliveries(webhook.instanceId, webhook.id, request.query.limit)).map(toDelivery);
    },
  );

  v1.post<{ Params: WebhookPath & { delivery_id: string } }>(
    `${base}/:id/deliveries/:delivery_id/replay`,
    { schema: { params: DeliveryParams, response: { 202: DeliveryResponse } }, ...admin },
    async (request, reply) => {
      const { instance_id, id: webhookId, delivery_id } = request.params;
      const delivery = await events.replay(instance_id, webhookId, delivery_id);
      if (!delivery) throw new AppError('not_found', 'Delivery not found');
      return reply.status(202).send(toDelivery(delivery));
    },
  );
};
