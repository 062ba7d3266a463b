// Request authentication: `X-API-Key` with a permission check, listed in a route's preHandler and run (authFirst) before
// the route validates its input.
import type { Permission } from '@astral/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasPermission, type ApiKeyService } from '../auth/api-keys.js';
import type { ApiKeyInfo } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyInfo;
  }
}

type Guard = (request: FastifyRequest) => Promise<void>;
const guards = new WeakSet<Guard>();

/** Marks a preHandler as an auth guard (credentials or a permission): authFirst runs it before validation. */
export function authGuard(guard: Guard): Guard {
  guards.add(guard);
  return guard;
}

export function requireApiKey(keys: ApiKeyService, permission: Permission): Guard {
  return authGuard(async (request) => {
    const header = request.headers['x-api-key'];
    const key = await keys.authenticate(Array.isArray(header) ? header[0] : header);
    if (!hasPermission(key, permission)) {
      throw new AppError('forbidden', `this API key lacks the "${permission}" permission`);
    }
    request.apiKey = key;
  });
}

/**
 * Moves every route's auth guards from its preHandlers to the front of its preValidation hooks, so missing or wrong
 * credentials answer 401 and a missing permission 403 whatever the body, params or query (never a 400 first).
 * Register it before the routes.
 */
export const authFirst = fp(async (app: FastifyInstance) => {
  app.addHook('onRoute', (route) => {
    const preHandlers = [route.preHandler ?? []].flat() as Guard[];
    const auth = preHandlers.filter((h) => guards.has(h));
    if (auth.length === 0) return;
    const rest = preHandlers.filter((h) => !guards.has(h));
    route.preHandler = rest.length > 0 ? rest : undefined;
    route.preValidation = [...auth, ...([route.preValidation ?? []].flat() as Guard[])];
  });
});
