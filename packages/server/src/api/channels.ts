// Channels and their voice endpoints (seed 000): create, RTC regions, call eligibility, region, ring, stop-ringing
// (several nodes: those run on the node running the channel's call).
import {
  CallEligibility,
  ChannelResponse,
  CreateChannelBody,
  ErrorBody,
  NoContent,
  PatchCallBody,
  RecipientsBody,
  RtcRegion,
  Snowflake,
  type ChannelResponse as ChannelResponseT,
} from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hasPermission, type ApiKeyService } from '../auth/api-keys.js';
import type { Principal, PrincipalResolver } from '../auth/principal.js';
import type { ChannelCalls } from '../calls/channel-calls.js';
import type { Cluster } from '../cluster/cluster.js';
import { authGuard } from './auth.js';
import type { Channel } from '../store/channels.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';

const Params = Type.Object({ channel_id: Snowflake });
type Req<B = unknown> = FastifyRequest<{ Params: { channel_id: string }; Body: B }>;
/** An operation on a channel's call, as another node hands it to the node running that call. */
interface OnChannelCall<B> { principal: Principal; channelId: string; body: B }
type ChannelCallOp<B, R> = (principal: Principal, channel: Channel, body: B) => R | Promise<R>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The user or bot behind `Authorization` (channel routes). */
    principal?: Principal;
  }
}

const toResponse = (c: Channel): ChannelResponseT => ({ id: c.id, type: c.type, name: c.name, recipients: c.recipients, rtc_region: c.rtcRegion });

export const channelsApi: FastifyPluginAsync<{ store: Store; keys: ApiKeyService; principals: PrincipalResolver; channels: ChannelCalls; cluster: Cluster | null }> = async (
  app,
  { store, keys, principals, channels, cluster },
) => {
  /** Authenticates the user or bot (a guard: before validation); membership of the path's channel is checked after it. */
  const signedIn = authGuard(async (request) => {
    request.principal = await principals.fromHeader(request.headers.authorization);
  });
  const member = async (request: FastifyRequest<{ Params: { channel_id: string } }>) => {
    const principal = request.principal!;
    return { principal, channel: await channels.channelFor(principal, request.params.channel_id) };
  };
  /** A member's operation on the channel's call: here, or (several nodes) on the node running that call. */
  const onChannelCall = <B, R>(method: string, op: ChannelCallOp<B, R>) => {
    cluster?.serve<OnChannelCall<B>, R>(method, async ({ principal, channelId, body }) => op(principal, await channels.channelFor(principal, channelId), body));
    return async (request: Req<B>): Promise<R> => {
      const { principal, channel } = await member(request);
      const body = request.body as B;
      const owner = cluster ? await cluster.channelOwnership.remoteOwner(channel.instanceId, channel.id) : null;
      if (!cluster || !owner) return op(principal, channel, body);
      return cluster.bus.call<R>(owner, method, { principal, channelId: channel.id, body } satisfies OnChannelCall<B>);
    };
  };
  const eligibility = onChannelCall<unknown, CallEligibility>('channel:eligibility', (principal, channel) => channels.eligibility(principal, channel));
  const setRegion = onChannelCall<PatchCallBody, null>('channel:region', async (_principal, channel, body) => (await channels.setRegion(channel, body.region), null));
  const ring = onChannelCall<RecipientsBody, null>('channel:ring', async (principal, channel, body) => (await channels.ring(principal, channel, body.recipients), null));
  const stopRinging = onChannelCall<RecipientsBody, null>('channel:stop-ringing', async (principal, channel, body) => (await channels.stopRinging(principal, channel, body.recipients), null));
  /** An API key with channels.manage may create any channel; a user or bot one it belongs to. */
  const creator = authGuard(async (request) => {
    if (request.headers['x-api-key'] === undefined) return void (request.principal = await principals.fromHeader(request.headers.authorization));
    const key = await keys.authenticate(String(request.headers['x-api-key']));
    if (!hasPermission(key, 'channels.manage')) throw new AppError('forbidden', 'this API key lacks the "channels.manage" permission');
    request.apiKey = key;
  });
  const errors = { '4xx': ErrorBody };
  // `recipients` is optional, and so is the whole body: an empty request means "the default recipients".
  const emptyBodyIsEmptyObject = async (request: FastifyRequest) => {
    request.body ??= {};
  };

  app.post<{ Body: CreateChannelBody }>('/api/v1/channels', { schema: { body: CreateChannelBody, response: { 201: ChannelResponse, ...errors } }, preHandler: creator }, async (request, reply) => {
    const principal = request.principal;
    const instanceId = principal ? principal.instanceId : request.apiKey!.instanceId;
    const { recipients, name } = request.body;
    if (principal && !recipients.includes(principal.party.userId)) throw new AppError('forbidden', 'you can only create channels you are a recipient of');
    const known = await store.channels.existingPrincipals(instanceId, recipients);
    const unknown = recipients.find((id) => !known.has(id));
    if (unknown) throw new AppError('bad_request', `recipients: ${unknown} is not a user or bot of this instance`);
    const channel: Channel = { id: store.ids.next(), instanceId, type: recipients.length === 2 ? 'dm' : 'group', name: name ?? null, rtcRegion: null, recipients };
    await store.channels.insert(channel);
    return reply.status(201).send(toResponse({ ...channel, recipients: [...recipients].sort() }));
  });

  app.get<{ Params: { channel_id: string } }>('/api/v1/channels/:channel_id/rtc-regions', { schema: { params: Params, response: { 200: Type.Array(RtcRegion), ...errors } }, preHandler: signedIn }, async (request) => {
    await member(request);
    return channels.regions();
  });

  app.get<{ Params: { channel_id: string } }>('/api/v1/channels/:channel_id/call', { schema: { params: Params, response: { 200: CallEligibility, ...errors } }, preHandler: signedIn }, async (request) =>
    eligibility(request as Req),
  );

  app.patch('/api/v1/channels/:channel_id/call', { schema: { params: Params, body: PatchCallBody, response: { 204: NoContent, ...errors } }, preHandler: signedIn }, async (request: Req<PatchCallBody>, reply) => {
    await setRegion(request);
    return reply.status(204).send();
  });

  app.post('/api/v1/channels/:channel_id/call/ring', { schema: { params: Params, body: RecipientsBody, response: { 204: NoContent, ...errors } }, preValidation: emptyBodyIsEmptyObject, preHandler: signedIn }, async (request: Req<RecipientsBody>, reply) => {
    await ring(request);
    return reply.status(204).send();
  });

  app.post('/api/v1/channels/:channel_id/call/stop-ringing', { schema: { params: Params, body: RecipientsBody, response: { 204: NoContent, ...errors } }, preValidation: emptyBodyIsEmptyObject, preHandler: signedIn }, async (request: Req<RecipientsBody>, reply) => {
    await stopRinging(request);
    return reply.status(204).send();
  });
};
