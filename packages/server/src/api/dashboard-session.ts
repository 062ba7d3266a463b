// The operator dashboard's login, in production as in development: an operator API key (with calls.read) entered once
// at POST /dashboard/login is kept server-side; the browser holds only a random session id in a signed, HttpOnly,
// SameSite=Strict cookie. /dashboard/api/v1/calls* is the dashboard proxy (calls-proxy.ts) authorised by that session,
// forwarding with the operator's own key (its permissions and instance apply). Sessions end after SESSION_TTL_MS, at
// logout, or as soon as the key is revoked. State-changing requests must carry `X-Astral-Dashboard: 1` (CSRF).
import fastifyCookie from '@fastify/cookie';
import { ErrorBody, NoContent } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { hasPermission, type ApiKeyService } from '../auth/api-keys.js';
import { deriveKey, SecretPurposes } from '../auth/secret-box.js';
import { AppError } from '../util/errors.js';
import { registerCallsProxy } from './calls-proxy.js';

export const SESSION_COOKIE = 'astral_dashboard';
export const CSRF_HEADER = 'x-astral-dashboard';
const COOKIE_PATH = '/dashboard';
const DEFAULT_TTL_MS = 12 * 3600 * 1000;
/** Sessions one node keeps at most (a login past it drops the oldest). */
const MAX_SESSIONS = 10_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  /** Held only here, in memory: never in a cookie, a response or a log line. */
  key: string;
  apiKeyId: string;
  instanceId: string;
  expiresAt: number;
}

const LoginBody = Type.Object({ api_key: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const SessionReply = Type.Object({
  authenticated: Type.Boolean(),
  /** The development demo proxy (/demo/api) answers this machine: the page may use it without a login. */
  demo: Type.Boolean(),
  expires_at: Type.Optional(Type.String({ format: 'date-time' })),
});

export const dashboardSession: FastifyPluginAsync<{ keys: ApiKeyService; secretKey: Buffer; demo: boolean; ttlMs?: number }> = async (
  app,
  { keys, secretKey, demo, ttlMs = DEFAULT_TTL_MS },
) => {
  await app.register(fastifyCookie, { secret: deriveKey(secretKey, SecretPurposes.dashboardCookie) });
  const sessions = new Map<string, Session>();

  const prune = (now: number) => {
    for (const [id, session] of sessions) if (session.expiresAt <= now) sessions.delete(id);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
  };

  /** The live session the request's cookie names, re-checked against the key store (a revoked key ends it), or null. */
  const current = async (request: FastifyRequest): Promise<{ id: string; session: Session } | null> => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return null;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return null;
    const session = sessions.get(unsigned.value);
    if (!session) return null;
    if (session.expiresAt <= Date.now()) {
      sessions.delete(unsigned.value);
      return null;
    }
    try {
      const info = await keys.authenticate(session.key);
      if (info.id !== session.apiKeyId || !hasPermission(info, 'calls.read')) throw new Error('changed');
    } catch {
      sessions.delete(unsigned.value);
      return null;
    }
    return { id: unsigned.value, session };
  };

  const requireCsrfHeader = (request: FastifyRequest) => {
    if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== '1') {
      throw new AppError('forbidden', `a dashboard request that changes something must carry the ${CSRF_HEADER}: 1 header`);
    }
  };

  const cookieOptions = (request: FastifyRequest) => ({
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict' as const,
    // request.protocol is https for a TLS listener, or behind a trusted proxy that says so (X-Forwarded-Proto).
    secure: request.protocol === 'https',
  });

  const clear = (request: FastifyRequest, reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, cookieOptions(request));

  app.post<{ Body: { api_key: string } }>(
    '/dashboard/login',
    {
      schema: {
        summary: 'Log the operator dashboard in with an API key (kept server-side; sets an HttpOnly session cookie)',
        tags: ['dashboard'],
        headers: Type.Object({ [CSRF_HEADER]: Type.Optional(Type.String()) }),
        body: LoginBody,
        response: { 204: NoContent, '4xx': ErrorBody },
      },
    },
    async (request, reply) => {
      requireCsrfHeader(request);
      const info = await keys.authenticate(request.body.api_key);
      if (!hasPermission(info, 'calls.read')) throw new AppError('forbidden', 'this API key lacks the calls.read permission the dashboard needs');
      const now = Date.now();
      prune(now);
      const previous = await current(request);
      if (previous) sessions.delete(previous.id);
      const id = randomBytes(32).toString('base64url');
      const expiresAt = now + ttlMs;
      sessions.set(id, { key: request.body.api_key, apiKeyId: info.id, instanceId: info.instanceId, expiresAt });
      reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(request), signed: true, maxAge: Math.floor(ttlMs / 1000) });
      request.log.info({ apiKeyId: info.id, instanceId: info.instanceId }, 'dashboard: logged in');
      return reply.status(204).send();
    },
  );

  app.post(
    '/dashboard/logout',
    {
      schema: {
        summary: 'End the operator dashboard session',
        tags: ['dashboard'],
        headers: Type.Object({ [CSRF_HEADER]: Type.Optional(Type.String()) }),
        response: { 204: NoContent, '4xx': ErrorBody },
      },
    },
    async (request, reply) => {
      requireCsrfHeader(request);
      const found = await current(request);
      if (found) sessions.delete(found.id);
      clear(request, reply);
      return reply.status(204).send();
    },
  );

  app.get(
    '/dashboard/session',
    { schema: { summary: 'Whether this browser is logged in to the operator dashboard', tags: ['dashboard'], response: { 200: SessionReply } } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const found = await current(request);
      if (!found && request.cookies[SESSION_COOKIE]) clear(request, reply);
      return found ? { authenticated: true, demo, expires_at: new Date(found.session.expiresAt).toISOString() } : { authenticated: false, demo };
    },
  );

  await app.register(async (proxied) => {
    proxied.decorateRequest('dashboardKey', '');
    proxied.addHook('onRequest', async (request) => {
      const found = await current(request);
      if (!found) throw new AppError('unauthorized', 'log in to the dashboard first (POST /dashboard/login)');
      requireCsrfHeader(request);
      (request as FastifyRequest & { dashboardKey: string }).dashboardKey = found.session.key;
    });
    await registerCallsProxy(proxied, {
      prefix: '/dashboard',
      apiKey: (request) => (request as FastifyRequest & { dashboardKey: string }).dashboardKey,
      routeSchema: { hide: true },
    });
  });
};
