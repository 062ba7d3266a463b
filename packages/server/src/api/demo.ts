// Demo-only routes, answered to loopback clients reaching the server directly: phone tokens, and the dashboard's API proxy.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Permission } from '@astral/protocol';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { TokenIssuer } from '../auth/token-issuer.js';
import type { ApiKeyStore } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';
import { registerCallsProxy } from './calls-proxy.js';

/** The demo's two phones; each gets an extension so it can also be dialled by number. */
const DEMO_USERS: Record<string, { display_name: string; extension: string }> = {
  alice: { display_name: 'Alice', extension: '1001' },
  bob: { display_name: 'Bob', extension: '1002' },
};

const Body = Type.Object({ identity: Type.Union(Object.keys(DEMO_USERS).map((k) => Type.Literal(k))) }, { additionalProperties: false });

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');

/** A request relayed by a proxy (nginx, Caddy, a load balancer): on the same host it comes from loopback, yet from anyone. */
const viaProxy = (headers: Record<string, unknown>) => 'forwarded' in headers || Object.keys(headers).some((h) => h.startsWith('x-forwarded-'));

/** Permissions of the key the dashboard proxy acts with (never sent to the browser). */
const DASHBOARD_PERMISSIONS: Permission[] = ['calls.read', 'calls.recording', 'calls.control', 'calls.click_to_call'];

export const demoApi: FastifyPluginAsync<{ issuer: TokenIssuer; keys: ApiKeyService; store: ApiKeyStore; instanceId: string }> = async (
  app,
  { issuer, keys, store, instanceId },
) => {
  app.addHook('onRequest', async (request) => {
    // A 404, as if the demo were off: a proxied client learns nothing about it.
    if (viaProxy(request.headers)) throw new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    if (!isLoopback(request.socket.remoteAddress ?? '')) throw new AppError('forbidden', 'the demo endpoints only answer this machine');
  });

  app.post<{ Body: { identity: string } }>('/demo/token', { schema: { body: Body } }, async (request) => {
    const user = DEMO_USERS[request.body.identity]!;
    return issuer.issue(instanceId, { identity: request.body.identity, ...user, ttl_seconds: 3600 });
  });

  // The dashboard calls /demo/api/v1/calls/... and the server adds an operator key, so no key reaches the page.
  await store.revoke(instanceId, 'demo-dashboard');
  const { key } = await keys.create(instanceId, 'demo-dashboard', DASHBOARD_PERMISSIONS);
  await registerCallsProxy(app, { prefix: '/demo', apiKey: () => key });
};

export { callsTarget } from './calls-proxy.js';
