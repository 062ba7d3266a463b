// POST /api/v1/tokens: a site's backend mints a short-lived widget token for one of its users.
import { CreateTokenBody, ErrorBody, TokenResponse } from '@astral/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { TokenIssuer } from '../auth/token-issuer.js';
import { requireApiKey } from './auth.js';

export const tokensApi: FastifyPluginAsync<{ keys: ApiKeyService; issuer: TokenIssuer }> = async (app, { keys, issuer }) => {
  app.post<{ Body: CreateTokenBody }>(
    '/api/v1/tokens',
    {
      schema: { body: CreateTokenBody, response: { 201: TokenResponse, '4xx': ErrorBody } },
      preHandler: requireApiKey(keys, 'tokens.create'),
    },
    async (request, reply) => reply.status(201).send(await issuer.issue(request.apiKey!.instanceId, request.body)),
  );
};
