// GET /api/v1/calls/:linkedId/journey: every step of a call, for the operator's timeline.
import { ErrorBody, JourneyResponse } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { Journeys } from '../calls/journey.js';
import type { CallStore } from '../store/calls.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const Params = Type.Object({ linkedId: Type.String({ pattern: '^[0-9]{1,20}$' }) });

export const journeyApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallStore; journeys: Journeys }> = async (app, { keys, calls, journeys }) => {
  app.get<{ Params: { linkedId: string } }>(
    '/api/v1/calls/:linkedId/journey',
    { schema: { params: Params, response: { 200: JourneyResponse, '4xx': ErrorBody } }, preHandler: requireApiKey(keys, 'calls.read') },
    async (request) => {
      const call = await calls.get(request.apiKey!.instanceId, request.params.linkedId);
      if (!call) throw new AppError('not_found', `no call ${request.params.linkedId}`);
      const steps = await journeys.steps(call.id);
      const live = call.ended_at === null;
      return {
        linkedid: call.id,
        caller: call.from_number,
        destination: call.to_number,
        status: call.disposition ? call.disposition.toLowerCase() : 'in progress',
        total_duration: live ? Math.max(0, Math.round((Date.now() - Date.parse(call.started_at)) / 1000)) : call.duration,
        answered_by: steps.find((s) => s.action === 'Bridged')?.to_number ?? null,
        steps: steps.map((s) => ({ time: s.time, action: s.action, from: s.from_number, to: s.to_number, duration: s.duration, status: s.status })),
      };
    },
  );
};
