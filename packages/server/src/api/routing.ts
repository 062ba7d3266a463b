// Admin API for queues and IVR menus: create, list, delete (an `admin` API key).
import { CreateIvrBody, CreateQueueBody, ErrorBody, IvrResponse, NoContent, QueueResponse } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeyService } from '../auth/api-keys.js';
import { encodeWavToOpusFrames } from '../recording/encode.js';
import type { Store } from '../store/index.js';
import type { Queue } from '../store/routing.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const toQueue = (q: Queue) => ({
  id: q.id,
  number: q.number,
  name: q.name,
  strategy: q.strategy,
  members: q.members,
  ring_timeout: q.ringTimeout,
  overflow: q.overflow,
  record: q.record,
});

export const routingApi: FastifyPluginAsync<{ keys: ApiKeyService; store: Store; promptDir: string }> = async (app, { keys, store, promptDir }) => {
  const admin = requireApiKey(keys, 'admin');
  mkdirSync(promptDir, { recursive: true });
  const errors = { '4xx': ErrorBody };

  /** A number is free when no user extension, queue or IVR menu holds it. */
  const assertFree = async (instanceId: string, number: string) => {
    const taken = (await store.users.byExtension(instanceId, number)) ?? (await store.routing.queue(instanceId, number)) ?? (await store.routing.ivr(instanceId, number));
    if (taken) throw new AppError('conflict', `number ${number} is already in use`);
  };

  app.post<{ Body: CreateQueueBody }>('/api/v1/queues', { schema: { body: CreateQueueBody, response: { 201: QueueResponse, ...errors } }, preHandler: admin }, async (request, reply) => {
    const instanceId = request.apiKey!.instanceId;
    await assertFree(instanceId, request.body.number);
    const queue: Queue = {
      id: store.ids.next(),
      instanceId,
      number: request.body.number,
      name: request.body.name,
      strategy: request.body.strategy,
      members: request.body.members,
      ringTimeout: request.body.ring_timeout ?? 20,
      overflow: request.body.overflow ?? null,
      record: request.body.record ?? true,
    };
    await store.routing.insertQueue(queue);
    return reply.status(201).send(toQueue(queue));
  });

  app.get('/api/v1/queues', { schema: { response: { 200: Type.Array(QueueResponse), ...errors } }, preHandler: admin }, async (request) =>
    (await store.routing.queues(request.apiKey!.instanceId)).map(toQueue),
  );

  app.post<{ Body: CreateIvrBody }>(
    '/api/v1/ivr',
    { schema: { body: CreateIvrBody, response: { 201: IvrResponse, ...errors } }, preHandler: admin, bodyLimit: 4_500_000 },
    async (request, reply) => {
      const instanceId = request.apiKey!.instanceId;
      await assertFree(instanceId, request.body.number);
      const wav = Buffer.from(request.body.prompt_wav, 'base64');
      let frames: Buffer[];
      try {
        frames = encodeWavToOpusFrames(wav);
      } catch (err) {
        throw new AppError('bad_request', `prompt_wav: not a readable PCM WAV file (${(err as Error).message})`);
      }
      if (frames.length === 0) throw new AppError('bad_request', 'prompt_wav: the prompt is shorter than 20 ms');
      const id = store.ids.next();
      const promptPath = join(promptDir, `${id}.wav`);
      writeFileSync(promptPath, wav);
      await store.routing.insertIvr({ id, instanceId, number: request.body.number, name: request.body.name, options: request.body.options, promptPath });
      return reply.status(201).send({ id, number: request.body.number, name: request.body.name, options: request.body.options, prompt_seconds: frames.length * 0.02 });
    },
  );

  app.get('/api/v1/ivr', { schema: { response: { 200: Type.Array(Type.Omit(IvrResponse, ['prompt_seconds'])), ...errors } }, preHandler: admin }, async (request) =>
    (await store.routing.ivrMenus(request.apiKey!.instanceId)).map(({ id, number, name, options }) => ({ id, number, name, options })),
  );

  for (const kind of ['queues', 'ivr'] as const) {
    app.delete<{ Params: { number: string } }>(
      `/api/v1/${kind}/:number`,
      { schema: { params: Type.Object({ number: Type.String({ pattern: '^[0-9*#+]{1,32}$' }) }), response: { 204: NoContent, ...errors } }, preHandler: admin },
      async (request, reply) => {
        const instanceId = request.apiKey!.instanceId;
        const menu = kind === 'ivr' ? await store.routing.ivr(instanceId, request.params.number) : undefined;
        const removed = await store.routing.remove(instanceId, request.params.number);
        if (removed !== (kind === 'queues' ? 'queue' : 'ivr')) throw new AppError('not_found', `no ${kind === 'queues' ? 'queue' : 'IVR menu'} ${request.params.number}`);
        if (menu) rmSync(menu.promptPath, { force: true });
        return reply.status(204).send();
      },
    );
  }
};
