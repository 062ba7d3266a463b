// Admin API for instances (tenants) and their API keys: a platform admin key (an `admin` key of the default instance)
// creates, lists and deletes instances; an instance's own admin key sees only its instance and may add its keys.
import { ErrorBody, NoContent, Permissions } from '@astral/protocol';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { Instance, InstanceStore } from '../store/instances.js';
import { AppError } from '../util/errors.js';
import { authGuard, requireApiKey } from './auth.js';
import { StringEnum } from './fastapi-family.js';

export interface InstancesApiOptions {
  keys: ApiKeyService;
  instances: InstanceStore;
  /** The default instance: its admin keys are platform admin keys. */
  platformInstanceId: string;
  /** After an instance's rows are gone: removes its files and drops what the running server holds for it. */
  onInstanceRemoved: (instanceId: string, files: string[]) => void;
}

const InstanceResponse = Type.Object({ id: Type.String(), name: Type.String(), created_at: Type.String() });
const CreateInstanceBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    permissions: Type.Array(StringEnum(Permissions), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);
const KeyResponse = Type.Object({ id: Type.String(), key: Type.String() });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const toResponse = (i: Instance) => ({ id: i.id, name: i.name, created_at: i.createdAt });

export const instancesApi: FastifyPluginAsync<InstancesApiOptions> = async (app, { keys, instances, platformInstanceId, onInstanceRemoved }) => {
  const admin = requireApiKey(keys, 'admin');
  const errors = { '4xx': ErrorBody };
  const isPlatform = (request: FastifyRequest) => request.apiKey!.instanceId === platformInstanceId;
  const platformOnly = authGuard(async (request: FastifyRequest) => {
    if (!isPlatform(request)) throw new AppError('forbidden', 'this needs a platform admin key (an admin key of the default instance)');
  });
  /** The instance a key may see: any for a platform admin, else only its own; others answer 404 like unknown ones. */
  const visible = async (request: FastifyRequest, id: string): Promise<Instance> => {
    const instance = isPlatform(request) || request.apiKey!.instanceId === id ? await instances.get(id) : undefined;
    if (!instance) throw new AppError('not_found', `no instance ${id}`);
    return instance;
  };

  app.post<{ Body: Static<typeof CreateInstanceBody> }>(
    '/api/v1/instances',
    { schema: { body: CreateInstanceBody, response: { 201: InstanceResponse, ...errors } }, preHandler: [admin, platformOnly] },
    async (request, reply) => reply.status(201).send(toResponse(await instances.create(request.body.name))),
  );

  app.get('/api/v1/instances', { schema: { response: { 200: Type.Array(InstanceResponse), ...errors } }, preHandler: admin }, async (request) =>
    isPlatform(request) ? (await instances.list()).map(toResponse) : [toResponse(await visible(request, request.apiKey!.instanceId))],
  );

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id', { schema: { params: IdParams, response: { 200: InstanceResponse, ...errors } }, preHandler: admin }, async (request) =>
    toResponse(await visible(request, request.params.id)),
  );

  app.delete<{ Params: { id: string } }>('/api/v1/instances/:id', { schema: { params: IdParams, response: { 204: NoContent, ...errors } }, preHandler: admin }, async (request, reply) => {
    await visible(request, request.params.id);
    await platformOnly(request);
    const { files } = await instances.remove(request.params.id);
    onInstanceRemoved(request.params.id, files);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: string }; Body: Static<typeof CreateKeyBody> }>(
    '/api/v1/instances/:id/keys',
    { schema: { params: IdParams, body: CreateKeyBody, response: { 201: KeyResponse, ...errors } }, preHandler: admin },
    async (request, reply) => {
      const instance = await visible(request, request.params.id);
      const { key, info } = await keys.create(instance.id, request.body.name, request.body.permissions);
      return reply.status(201).send({ id: info.id, key });
    },
  );
};
