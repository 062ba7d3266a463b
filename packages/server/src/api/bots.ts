// Admin API for bots: POST /api/v1/bots (token shown once) and DELETE /api/v1/bots/:id.
import { BotResponse, CreateBotBody, ErrorBody, NoContent, Snowflake } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { BotService } from '../auth/bots.js';
import { requireApiKey } from './auth.js';

export const botsApi: FastifyPluginAsync<{ keys: ApiKeyService; bots: BotService }> = async (app, { keys, bots }) => {
  const admin = requireApiKey(keys, 'admin');
  app.post<{ Body: CreateBotBody }>(
    '/api/v1/bots',
    { schema: { body: CreateBotBody, response: { 201: BotResponse, '4xx': ErrorBody } }, preHandler: admin },
    async (request, reply) => reply.status(201).send(await bots.create(request.apiKey!.instanceId, request.body.name)),
  );
  app.delete<{ Params: { id: string } }>(
    '/api/v1/bots/:id',
    { schema: { params: Type.Object({ id: Snowflake }), response: { 204: NoContent, '4xx': ErrorBody } }, preHandler: admin },
    async (request, reply) => {
      await bots.revoke(request.apiKey!.instanceId, request.params.id);
      return reply.status(204).send();
    },
  );
};
