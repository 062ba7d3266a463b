// GET /api/v1/calls/:id: one persisted call record; /transcript: what an AI agent on the call and its caller said.
import { CallRecord, ErrorBody } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { AgentCallStore } from '../store/agent-calls.js';
import { toCallRecord, type CallStore } from '../store/calls.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,20}$' }) });

const Transcript = Type.Object({
  call_id: Type.String(),
  agent: Type.String(),
  /** The provider's own transcript (a media-stream bot's call-completed webhook), when it sent one. */
  provider_transcript: Type.Union([Type.String(), Type.Null()]),
  turns: Type.Array(Type.Object({ role: Type.Union([Type.Literal('agent'), Type.Literal('user')]), text: Type.String(), at: Type.String() })),
});

export const callsApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallStore; agentCalls: AgentCallStore }> = async (app, { keys, calls, agentCalls }) => {
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

  app.get<{ Params: { id: string } }>(
    '/api/v1/calls/:id/transcript',
    {
      schema: { params: Params, response: { 200: Transcript, '4xx': ErrorBody } },
      preHandler: requireApiKey(keys, 'calls.read'),
    },
    async (request) => {
      const row = await calls.get(request.apiKey!.instanceId, request.params.id);
      const agentCall = row && (await agentCalls.byCallId(row.id));
      if (!agentCall) throw new AppError('not_found', `call ${request.params.id} had no AI agent on it`);
      return { call_id: row.id, agent: agentCall.agent_key, provider_transcript: agentCall.result_transcript, turns: await agentCalls.turns(row.id) };
    },
  );
};
