// Demo-only routes, answered to loopback clients reaching the server directly: phone tokens, and the dashboard's API proxy.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Permission } from '@astral/protocol';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { TokenIssuer } from '../auth/token-issuer.js';
import type { ApiKeyStore } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';

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
  await app.register(async (proxy) => {
    // A body goes on as the bytes received (the target route parses and validates it), never parsed and re-serialised.
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    proxy.all('/demo/api/v1/calls*', async (request, reply) => {
      const url = callsTarget(request.url);
      if (url === null) throw new AppError('not_found', 'the dashboard proxy forwards only paths under /api/v1/calls');
      const res = await app.inject({
        method: request.method as 'GET',
        url,
        headers: { 'x-api-key': key, ...(request.headers['content-type'] ? { 'content-type': request.headers['content-type'] } : {}) },
        ...(request.body !== undefined ? { payload: request.body as Buffer } : {}),
      });
      for (const name of ['content-type', 'content-disposition']) if (res.headers[name]) reply.header(name, res.headers[name]);
      return reply.status(res.statusCode).send(res.rawPayload);
    });
  });
};

/**
 * The /api/v1/calls URL a /demo/api/v1/calls... request names, or null when its path, decoded, would lead anywhere
 * else: a `.` or `..` segment (plain or percent-encoded), a backslash or a control character, or `/callsx`.
 */
export function callsTarget(url: string): string | null {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (!/^\/demo\/api\/v1\/calls(\/|$)/.test(decoded) || /[\\\u0000-\u001f\u007f]/.test(decoded)) return null;
  if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return null;
  return url.slice('/demo'.length);
}
