// Request authentication: `X-API-Key` with a permission check, attached to routes as a preHandler.
import type { Permission } from '@astral/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasPermission, type ApiKeyService } from '../auth/api-keys.js';
import type { ApiKeyInfo } from '../store/api-keys.js';
import { AppError } from '../util/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyInfo;
  }
}

export function requireApiKey(keys: ApiKeyService, permission: Permission) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers['x-api-key'];
    const key = await keys.authenticate(Array.isArray(header) ? header[0] : header);
    if (!hasPermission(key, permission)) {
      throw new AppError('forbidden', `this API key lacks the "${permission}" permission`);
    }
    request.apiKey = key;
  };
}
