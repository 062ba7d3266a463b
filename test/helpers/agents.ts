// Agent test helpers: the `/v1` calls a test makes (Bearer admin key), the default instance, agents, the voice channel
// (its webhook secret), and seed 004's call object polled until it settles.
import type { RunningServer } from './server.js';

export interface V1Response {
  status: number;
  body: any;
}

/** A `/v1` request with `Authorization: Bearer <key>` (the server's bootstrap admin key unless given). */
export async function v1(server: RunningServer, method: string, path: string, body?: unknown, key = server.apiKey): Promise<V1Response> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return responseOf(res);
}

/** A response's status and body: parsed JSON, else the text as it came. */
export async function responseOf(res: Response): Promise<V1Response> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** The default instance (the oldest; the bootstrap key is its admin). */
export async function defaultInstanceId(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/instances`, { headers: { 'x-api-key': server.apiKey } });
  if (res.status !== 200) throw new Error(`GET /api/v1/instances: ${res.status} ${await res.text()}`);
  const list = (await res.json()) as { id: string }[];
  if (!list[0]) throw new Error('no instances');
  return list[0].id;
}

export async function createAgent(server: RunningServer, instanceId: string, agent: Record<string, unknown>): Promise<void> {
  const res = await v1(server, 'POST', `/v1/instances/${instanceId}/agents`, agent);
  if (res.status !== 201) throw new Error(`create agent: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Sets the instance's voice channel (its provider and credentials). */
export async function setVoiceChannel(server: RunningServer, instanceId: string, channel: Record<string, unknown>): Promise<void> {
  const res = await v1(server, 'POST', `/v1/instances/${instanceId}/channels/voice`, channel);
  if (res.status !== 200) throw new Error(`voice channel: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The voice channel with a webhook secret, for bots' call-completed webhooks. */
export const setWebhookSecret = (server: RunningServer, instanceId: string, secret: string): Promise<void> => setVoiceChannel(server, instanceId, { provider: 'pipecat', webhook_secret: secret });

/** Seed 004's call object. */
export interface ServiceCall {
  call_id: string;
  status: string;
  phone: string;
  agent: string;
  transcript: string;
  duration: number;
  created_at: string;
  ended_at: string | null;
}

export async function serviceCall(server: RunningServer, callId: string): Promise<ServiceCall> {
  const res = await v1(server, 'GET', `/v1/calls/${callId}`);
  if (res.status !== 200) throw new Error(`GET /v1/calls/${callId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as ServiceCall;
}

/** Polls GET /v1/calls/{id} until `done(call)` (default: a final status), failing with the last one seen. */
export async function waitServiceCall(server: RunningServer, callId: string, done: (c: ServiceCall) => boolean = (c) => FINAL.includes(c.status), timeoutMs = 15_000): Promise<ServiceCall> {
  const deadline = Date.now() + timeoutMs;
  let last: ServiceCall | undefined;
  for (;;) {
    last = await serviceCall(server, callId);
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`call ${callId} did not get there within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const FINAL = ['completed', 'busy', 'no-answer', 'failed'];

/** Transcript lines as [role, text]. */
export const turnsOf = (transcript: string): [string, string][] =>
  transcript
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
