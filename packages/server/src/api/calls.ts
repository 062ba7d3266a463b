// GET /api/v1/calls/:id: one persisted call record.
import { CallRecord, ErrorBody } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import { toCallRecord, type CallStore } from '../store/calls.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,20}$' }) });

export const callsApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallStore }> = async (app, { keys, calls }) => {
  app.get<{ Params: { id: string } }>(
    '/api/v1/calls/:id',
    {
      schema: { params: Params, response: { 200: CallRecord, '4xx': ErrorBody } },
      preHandler: requireApiKey(keys, 'calls.read'),
    },
    async (request) => {
      const row = await calls.get(request.apiKey!.instanceId, request.params.id);
      if (!row) throw new AppError('not_found', `no call ${request.params.id}`);
      return toCallRecord(row);
    },
  );
};
