// Operator call control (seed 001): live legs, hang up a channel, blind/attended transfer with complete/cancel.
import { ClickToCallBody, ControlResult, ErrorBody, HangupChannelBody, LegChannelId, LiveCall, TransferBody } from '@astral/protocol';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { CallControl } from '../calls/call-control.js';
import type { Cluster } from '../cluster/cluster.js';
import { OriginateError, type ClickToCall } from '../calls/click-to-call.js';
import type { Transfers } from '../calls/transfers.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const seconds = (from: Date) => Math.max(0, Math.round((Date.now() - from.getTime()) / 1000));

const LegBody = Type.Object({ call_id: LegChannelId }, { additionalProperties: false });

/** How long the live listing waits for each other node, and the header naming those that did not answer in time. */
const LIVE_PEER_TIMEOUT_MS = 2000;
const UNANSWERED_HEADER = 'x-astral-unanswered-nodes';

type LiveRow = Static<typeof LiveCall> & { startedAt: number };
type LegAction = { action: 'hangup' } | { action: 'transfer'; destination: string; type: TransferBody['type'] } | { action: 'complete' | 'cancel' };

export const callControlApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallControl; transfers: Transfers; clickToCall: ClickToCall; cluster: Cluster | null }> = async (
  app,
  { keys, calls, transfers, clickToCall, cluster },
) => {
  const control = requireApiKey(keys, 'calls.control');
  /** The live call and session behind a leg id of this instance, or 404. */
  const legOf = (instanceId: string, channelId: string) => {
    const leg = calls.legs.get(channelId);
    const call = leg && calls.get(leg.linkedId);
    if (!leg || !call || call.instanceId !== instanceId) throw new AppError('not_found', `no live channel ${channelId}`);
    return { leg, call };
  };
  const liveHere = (instanceId: string): LiveRow[] =>
    calls.liveLegs(instanceId).map(({ leg, call }) => ({
      channel_id: leg.channelId,
      linkedid: leg.linkedId,
      from: call.fromNumber,
      to: call.toNumber,
      direction: 'internal',
      status: leg.answeredAt ? ('answered' as const) : ('ringing' as const),
      duration: seconds(leg.startedAt),
      startedAt: leg.startedAt.getTime(),
    }));
  const actHere = async (instanceId: string, channelId: string, act: LegAction): Promise<void> => {
    if (act.action === 'hangup') return calls.hangupLeg(instanceId, channelId);
    const { leg, call } = legOf(instanceId, channelId);
    if (act.action === 'transfer') await transfers.start(call, leg.sessionId, act.destination, act.type);
    else await (act.action === 'complete' ? transfers.complete(call, leg.sessionId) : transfers.cancel(call, leg.sessionId));
  };
  // Several nodes: a leg lives on the node owning its call; any node answers for all of them.
  cluster?.serve<{ instanceId: string }, LiveRow[]>('calls:live', ({ instanceId }) => liveHere(instanceId));
  cluster?.serve<{ instanceId: string; channelId: string; act: LegAction }, null>('calls:leg', async ({ instanceId, channelId, act }) => (await actHere(instanceId, channelId, act), null));
  const act = async (instanceId: string, channelId: string, action: LegAction): Promise<void> => {
    if (!cluster || calls.legs.get(channelId)) return actHere(instanceId, channelId, action);
    await cluster.onOwner('calls:leg', { instanceId, channelId, act: action }).catch((err: unknown) => {
      throw err instanceof AppError && err.code === 'not_found' ? new AppError('not_found', `no live channel ${channelId}`) : err;
    });
  };

  app.get(
    '/api/v1/calls/live',
    { schema: { response: { 200: Type.Array(LiveCall), '4xx': ErrorBody } }, preHandler: requireApiKey(keys, 'calls.read') },
    async (request, reply) => {
      const instanceId = request.apiKey!.instanceId;
      const peers = cluster ? await cluster.onPeers<LiveRow[]>('calls:live', { instanceId }, LIVE_PEER_TIMEOUT_MS) : { answers: [], unanswered: [] };
      // A node that did not answer (dead, not yet seen lost) leaves its legs out: the listing says which, it does not fail.
      if (peers.unanswered.length > 0) {
        request.log.warn({ nodes: peers.unanswered }, 'calls/live: nodes did not answer; their legs are not listed');
        void reply.header(UNANSWERED_HEADER, peers.unanswered.join(', '));
      }
      return [...liveHere(instanceId), ...peers.answers.flat()].sort((a, b) => a.startedAt - b.startedAt);
    },
  );

  app.post<{ Body: HangupChannelBody }>(
    '/api/v1/calls/hangup-channel',
    { schema: { body: HangupChannelBody, response: { 200: ControlResult, '4xx': ErrorBody } }, preHandler: control },
    async (request) => {
      await act(request.apiKey!.instanceId, request.body.channel_id, { action: 'hangup' });
      return { status: 'success' as const, message: `Channel ${request.body.channel_id} hung up (${request.body.reason ?? 'normal'})` };
    },
  );

  app.post<{ Body: TransferBody }>(
    '/api/v1/calls/transfer',
    { schema: { body: TransferBody, response: { 200: ControlResult, '4xx': ErrorBody } }, preHandler: control },
    async (request) => {
      await act(request.apiKey!.instanceId, request.body.call_id, { action: 'transfer', destination: request.body.destination, type: request.body.type });
      const started = request.body.type === 'blind' ? 'Transfer initiated' : 'Consulting the target: complete or cancel the transfer';
      return { status: 'success' as const, message: `${started} (${request.body.destination})` };
    },
  );

  for (const action of ['complete', 'cancel'] as const) {
    app.post<{ Body: { call_id: string } }>(
      `/api/v1/calls/transfer/${action}`,
      { schema: { body: LegBody, response: { 200: ControlResult, '4xx': ErrorBody } }, preHandler: control },
      async (request) => {
        await act(request.apiKey!.instanceId, request.body.call_id, { action });
        return { status: 'success' as const, message: action === 'complete' ? 'Transfer completed' : 'Transfer cancelled' };
      },
    );
  }

  app.post<{ Body: ClickToCallBody }>(
    '/api/v1/calls/click-to-call',
    {
      schema: { body: ClickToCallBody, response: { 200: ControlResult, '4xx': Type.Union([ControlResult, ErrorBody]) } },
      preHandler: requireApiKey(keys, 'calls.click_to_call'),
    },
    async (request, reply) => {
      try {
        await clickToCall.originate(request.apiKey!.instanceId, request.body);
      } catch (err) {
        if (!(err instanceof OriginateError)) throw err;
        return reply.status(err.status).send({ status: 'error', message: `Failed to originate call: ${err.message}` });
      }
      return { status: 'success' as const, message: 'Call initiated' };
    },
  );
};
