// Seed 004's service API: POST /v1/calls (an agent calls a phone), GET /v1/calls/{call_id} (status, duration, transcript),
// and POST /v1/webhooks/call-completed (a provider's signed final result, stored once per provider call id).
// Registered inside the `/v1` family (api/fastapi-family.ts), which maps its errors.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DialError, type AgentDialer } from '../agents/outbound.js';
import type { SecretBox } from '../auth/secret-box.js';
import { agentTalkSeconds, type AgentCallRow } from '../store/agent-calls.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import { requireServiceKey, UnprocessableError, type ServiceAuth } from './fastapi-family.js';

export interface ServiceCallsOptions {
  auth: ServiceAuth;
  store: Store;
  dialer: AgentDialer;
  /** Opens the instances' voice channel credentials (the webhook secret, Retell's API key). */
  voiceSecrets: SecretBox;
}

const CreateCallBody = {
  type: 'object',
  required: ['phone', 'agent'],
  properties: {
    phone: { type: 'string', minLength: 1, maxLength: 128 },
    agent: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const CallParams = {
  type: 'object',
  required: ['call_id'],
  properties: { call_id: { type: 'string', format: 'uuid' } },
} as const;

/** Seed 004's call object. */
const ServiceCall = {
  type: 'object',
  required: ['call_id', 'status', 'phone', 'agent', 'transcript', 'duration', 'created_at', 'ended_at'],
  properties: {
    call_id: { type: 'string', format: 'uuid' },
    status: { type: 'string' },
    phone: { type: 'string' },
    agent: { type: 'string' },
    transcript: { type: 'string' },
    duration: { type: 'number' },
    created_at: { type: 'string' },
    ended_at: { type: ['string', 'null'] },
  },
} as const;
const CallCreated = { type: 'object', required: ['call_id'], properties: { call_id: { type: 'string', format: 'uuid' } } } as const;
const ResultStored = {
  type: 'object',
  required: ['ok', 'call_id', 'duplicate'],
  properties: { ok: { type: 'boolean' }, call_id: { type: 'string' }, duplicate: { type: 'boolean', description: 'The result had already been stored' } },
} as const;

/** Seed 004's own completion payload. */
const CallCompletedBody = {
  type: 'object',
  required: ['event_type', 'provider_call_id', 'status'],
  properties: {
    event_type: { type: 'string', enum: ['call.completed'] },
    provider_call_id: { type: 'string', minLength: 1, maxLength: 64 },
    status: { type: 'string', enum: ['completed', 'busy', 'no-answer', 'failed', 'canceled'] },
    transcript: { type: 'string', maxLength: 1_000_000 },
    duration: { type: 'number', minimum: 0 },
  },
} as const;

/** Retell's webhook (docs.retellai.com/features/webhook): `{event, call}`, the call object as get-call returns it. */
const RetellWebhookBody = {
  type: 'object',
  required: ['event', 'call'],
  properties: {
    event: { type: 'string', minLength: 1, maxLength: 64 },
    call: {
      type: 'object',
      required: ['call_id'],
      properties: {
        call_id: { type: 'string', minLength: 1, maxLength: 128 },
        call_status: { type: 'string', maxLength: 64 },
        transcript: { type: 'string', maxLength: 1_000_000 },
        duration_ms: { type: 'number', minimum: 0 },
        start_timestamp: { type: 'number', minimum: 0 },
        end_timestamp: { type: 'number', minimum: 0 },
        disconnection_reason: { type: 'string', maxLength: 128 },
        metadata: { type: 'object' },
      },
    },
  },
} as const;

type CompletedBody = { provider_call_id: string; status: string; transcript?: string; duration?: number };
type RetellBody = {
  event: string;
  call: { call_id: string; call_status?: string; transcript?: string; duration_ms?: number; start_timestamp?: number; end_timestamp?: number; disconnection_reason?: string };
};

/** Retell's disconnection reasons that mean the far party never talked; any other ended call completed, an error failed. */
const RETELL_UNANSWERED: Record<string, string> = { dial_busy: 'busy', dial_no_answer: 'no-answer', dial_failed: 'failed' };

/** A Retell call_ended event as seed 004's result: its status, transcript and duration in seconds. */
function retellResult(call: RetellBody['call']): { status: string; transcript: string; duration: number } {
  const reason = call.disconnection_reason ?? '';
  const status = RETELL_UNANSWERED[reason] ?? (call.call_status === 'error' || reason.startsWith('error') ? 'failed' : 'completed');
  const ms = call.duration_ms ?? (call.start_timestamp && call.end_timestamp ? call.end_timestamp - call.start_timestamp : 0);
  return { status, transcript: call.transcript ?? '', duration: Math.max(0, ms) / 1000 };
}

/** Retell signs `body + timestamp` with the API key: `x-retell-signature: v=<unix ms>,d=<hex>`; five minutes of skew allowed. */
const RETELL_SKEW_MS = 5 * 60_000;

const sameHex = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const hmac = (secret: string, data: string): string => createHmac('sha256', secret).update(data, 'utf8').digest('hex');

/** `X-Astral-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the instance's webhook secret. */
function astralSignatureValid(header: string | undefined, raw: string, secret: string | null | undefined): boolean {
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header ?? '')?.[1];
  return !!hex && !!secret && sameHex(hex.toLowerCase(), hmac(secret, raw));
}

function retellSignatureValid(header: string | undefined, raw: string, apiKey: string | undefined, now = Date.now()): boolean {
  const match = /^v=(\d+),d=([0-9a-f]{64})$/i.exec(header ?? '');
  if (!match || !apiKey || Math.abs(now - Number(match[1])) > RETELL_SKEW_MS) return false;
  return sameHex(match[2]!.toLowerCase(), hmac(apiKey, raw + match[1]));
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

export async function serviceCallsApi(app: FastifyInstance, opts: ServiceCallsOptions): Promise<void> {
  const { auth, store, dialer, voiceSecrets } = opts;

  /** Seed 004's call object; the provider's final transcript and duration win over ours once it sent them. */
  const present = async (row: AgentCallRow) => ({
    call_id: row.service_id,
    status: row.status,
    phone: row.phone,
    agent: row.agent_key,
    transcript: await store.agentCalls.transcript(row),
    duration: row.result_duration ?? agentTalkSeconds(row),
    created_at: row.created_at,
    ended_at: row.ended_at,
  });

  // The webhook's signature covers the exact bytes sent: keep them beside the parsed body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch {
      done(new UnprocessableError([{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]), undefined);
    }
  });

  app.post('/v1/calls', { schema: { body: CreateCallBody, response: { 201: CallCreated } }, ...requireServiceKey(auth, 'agents.call') }, async (request, reply) => {
    const { phone, agent } = request.body as { phone: string; agent: string };
    try {
      const callId = await dialer.dial(request.actingInstanceId!, phone, agent);
      return reply.status(201).send({ call_id: callId });
    } catch (err) {
      if (err instanceof DialError) throw UnprocessableError.field(['body', err.field], err.message);
      throw err;
    }
  });

  app.get('/v1/calls/:call_id', { schema: { params: CallParams, response: { 200: ServiceCall } }, ...requireServiceKey(auth, 'agents.call') }, async (request) => {
    const { call_id } = request.params as { call_id: string };
    const row = await store.agentCalls.byServiceId(request.actingInstanceId!, call_id);
    if (!row) throw new AppError('not_found', 'Call not found');
    return present(row);
  });

  app.post('/v1/webhooks/call-completed', { schema: { body: { anyOf: [CallCompletedBody, RetellWebhookBody] }, response: { 200: ResultStored } } }, async (request) => {
    const body = request.body as CompletedBody | RetellBody;
    const retellEvent = 'call' in body ? body : null;
    const providerCallId = retellEvent ? retellEvent.call.call_id : (body as CompletedBody).provider_call_id;
    const row = await store.agentCalls.byProviderCallId(providerCallId);
    if (!row) throw new AppError('not_found', 'Unknown provider_call_id');
    const raw = request.rawBody ?? '';
    const channel = await store.voiceChannels.get(row.instance_id);
    const secrets = channel ? await store.voiceChannels.credentials(row.instance_id, voiceSecrets) : {};
    const astral = request.headers['x-astral-signature'];
    const retell = request.headers['x-retell-signature'];
    const valid =
      astralSignatureValid(typeof astral === 'string' ? astral : undefined, raw, secrets.webhook_secret) ||
      ((channel?.provider === 'retell' || (await store.agents.byKey(row.instance_id, row.agent_key))?.provider === 'retell') &&
        retellSignatureValid(typeof retell === 'string' ? retell : undefined, raw, secrets.api_key));
    if (!valid) throw new AppError('unauthorized', 'Invalid webhook signature');
    // Retell's call_started and call_analyzed are acknowledged; only call_ended carries the final result.
    if (retellEvent && retellEvent.event !== 'call_ended') return { ok: true, call_id: row.service_id, duplicate: false };
    const result = retellEvent ? retellResult(retellEvent.call) : { status: (body as CompletedBody).status, transcript: (body as CompletedBody).transcript ?? '', duration: (body as CompletedBody).duration ?? 0 };
    const stored = await store.agentCalls.storeResult(row.call_id, { ...result, duration: Math.round(result.duration) }, new Date());
    return { ok: true, call_id: row.service_id, duplicate: !stored };
  });
}
