// Admin API for SIP trunks (create, list, get, edit, delete) and phone numbers (create, list, delete); `admin` API key.
// Trunk passwords are sealed before they reach the store and never leave in a response.
import { CreateNumberBody, CreateTrunkBody, ErrorBody, NoContent, NumberResponse, PhoneNumber as PhoneNumberSchema, Snowflake, TrunkResponse, UpdateTrunkBody } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { TrunkStatus } from '../sip/types.js';
import type { Store } from '../store/index.js';
import type { PhoneNumber } from '../store/numbers.js';
import { newTrunk, type Trunk, type TrunkChanges } from '../store/trunks.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

export interface TrunksApiOptions {
  keys: ApiKeyService;
  store: Store;
  /** Seals trunk passwords (SecretPurposes.trunkPassword). */
  secrets: SecretBox;
  /** The SIP gateway's view of a trunk (registration / OPTIONS reachability). */
  trunkStatus: (trunkId: string) => TrunkStatus;
  /** Called after a trunk of the instance was created, edited or deleted, so the gateway re-reads and re-registers. */
  onTrunksChanged: (instanceId: string) => void;
}

const toNumber = (n: PhoneNumber) => ({ number: n.number, destination: n.destination, destination_type: n.destinationType, trunk_id: n.trunkId });

export const trunksApi: FastifyPluginAsync<TrunksApiOptions> = async (app, { keys, store, secrets, trunkStatus, onTrunksChanged }) => {
  const admin = requireApiKey(keys, 'admin');
  const errors = { '4xx': ErrorBody };
  const idParams = Type.Object({ id: Snowflake });

  const toTrunk = (t: Trunk) => ({
    id: t.id,
    name: t.name,
    host: t.host,
    port: t.port,
    transport: t.transport,
    username: t.username,
    has_password: t.hasPassword,
    realm: t.realm,
    register: t.register,
    caller_id: t.callerId,
    codecs: t.codecs,
    allowed_ips: t.allowedIps,
    default: t.isDefault,
    status: trunkStatus(t.id),
  });

  const changed = (instanceId: string) => {
    try {
      onTrunksChanged(instanceId);
    } catch (err) {
      app.log.error({ err: { message: (err as Error).message } }, 'onTrunksChanged failed');
    }
  };

  app.post<{ Body: CreateTrunkBody }>('/api/v1/trunks', { schema: { body: CreateTrunkBody, response: { 201: TrunkResponse, ...errors } }, preHandler: admin }, async (request, reply) => {
    const b = request.body;
    const instanceId = request.apiKey!.instanceId;
    const trunk = await store.trunks.create(newTrunk(instanceId, b, secrets));
    changed(instanceId);
    return reply.status(201).send(toTrunk(trunk));
  });

  app.get('/api/v1/trunks', { schema: { response: { 200: Type.Array(TrunkResponse), ...errors } }, preHandler: admin }, async (request) =>
    (await store.trunks.list(request.apiKey!.instanceId)).map(toTrunk),
  );

  app.get<{ Params: { id: string } }>('/api/v1/trunks/:id', { schema: { params: idParams, response: { 200: TrunkResponse, ...errors } }, preHandler: admin }, async (request) => {
    const trunk = await store.trunks.get(request.apiKey!.instanceId, request.params.id);
    if (!trunk) throw new AppError('not_found', `no trunk ${request.params.id}`);
    return toTrunk(trunk);
  });

  app.patch<{ Params: { id: string }; Body: UpdateTrunkBody }>(
    '/api/v1/trunks/:id',
    { schema: { params: idParams, body: UpdateTrunkBody, response: { 200: TrunkResponse, ...errors } }, preHandler: admin },
    async (request) => {
      const b = request.body;
      const instanceId = request.apiKey!.instanceId;
      const changes: TrunkChanges = {
        name: b.name,
        host: b.host,
        port: b.port,
        transport: b.transport,
        username: b.username,
        passwordSealed: b.password === undefined || b.password === null ? b.password : secrets.seal(b.password),
        realm: b.realm,
        callerId: b.caller_id,
        register: b.register,
        codecs: b.codecs,
        allowedIps: b.allowed_ips,
        isDefault: b.default,
      };
      const trunk = await store.trunks.update(instanceId, request.params.id, changes);
      changed(instanceId);
      return toTrunk(trunk);
    },
  );

  app.delete<{ Params: { id: string } }>('/api/v1/trunks/:id', { schema: { params: idParams, response: { 204: NoContent, ...errors } }, preHandler: admin }, async (request, reply) => {
    const instanceId = request.apiKey!.instanceId;
    await store.trunks.remove(instanceId, request.params.id);
    changed(instanceId);
    return reply.status(204).send();
  });

  app.post<{ Body: CreateNumberBody }>('/api/v1/numbers', { schema: { body: CreateNumberBody, response: { 201: NumberResponse, ...errors } }, preHandler: admin }, async (request, reply) => {
    const b = request.body;
    const number = await store.numbers.create({
      instanceId: request.apiKey!.instanceId,
      number: b.number,
      destination: b.destination,
      destinationType: b.destination_type,
      trunkId: b.trunk_id ?? null,
    });
    return reply.status(201).send(toNumber(number));
  });

  app.get('/api/v1/numbers', { schema: { response: { 200: Type.Array(NumberResponse), ...errors } }, preHandler: admin }, async (request) =>
    (await store.numbers.list(request.apiKey!.instanceId)).map(toNumber),
  );

  app.delete<{ Params: { number: string } }>(
    '/api/v1/numbers/:number',
    { schema: { params: Type.Object({ number: PhoneNumberSchema }), response: { 204: NoContent, ...errors } }, preHandler: admin },
    async (request, reply) => {
      if (!(await store.numbers.remove(request.apiKey!.instanceId, request.params.number))) throw new AppError('not_found', `no number ${request.params.number}`);
      return reply.status(204).send();
    },
  );
};
