// Live call control: GET /api/v1/calls/live (legs in progress) and POST /api/v1/calls/hangup-channel.
import { ControlResult, ErrorBody, HangupChannelBody, LiveCall } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { CallControl } from '../calls/call-control.js';
import { requireApiKey } from './auth.js';

const seconds = (from: Date) => Math.max(0, Math.round((Date.now() - from.getTime()) / 1000));

export const liveCallsApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallControl }> = async (app, { keys, calls }) => {
  app.get(
    '/api/v1/calls/live',
    { schema: { response: { 200: Type.Array(LiveCall), '4xx': ErrorBody } }, preHandler: requireApiKey(keys, 'calls.read') },
    async (request) =>
      calls
        .liveLegs(request.apiKey!.instanceId)
        .sort((a, b) => a.leg.startedAt.getTime() - b.leg.startedAt.getTime())
        .map(({ leg, call }) => ({
          channel_id: leg.channelId,
          from: call.fromNumber,
          to: call.toNumber,
          direction: 'internal',
          status: leg.answeredAt ? ('answered' as const) : ('ringing' as const),
          duration: seconds(leg.startedAt),
        })),
  );

  app.post<{ Body: HangupChannelBody }>(
    '/api/v1/calls/hangup-channel',
    { schema: { body: HangupChannelBody, response: { 200: ControlResult, '4xx': ErrorBody } }, preHandler: requireApiKey(keys, 'calls.control') },
    async (request) => {
      calls.hangupLeg(request.apiKey!.instanceId, request.body.channel_id);
      return { status: 'success' as const, message: `Channel ${request.body.channel_id} hung up (${request.body.reason ?? 'normal'})` };
    },
  );
};
