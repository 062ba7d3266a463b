// Call recordings: GET /api/v1/calls/:id/recording (a WAV of both parties mixed, rendered by a worker and streamed) and DELETE to remove it.
import { ErrorBody, NoContent } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { rmSync } from 'node:fs';
import type { ApiKeyService } from '../auth/api-keys.js';
import { logHoldsFrames } from '../recording/frame-log.js';
import { renderRecording } from '../recording/render-job.js';
import type { CallStore } from '../store/calls.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,20}$' }) });

export const recordingsApi: FastifyPluginAsync<{ keys: ApiKeyService; calls: CallStore }> = async (app, { keys, calls }) => {
  const allowed = requireApiKey(keys, 'calls.recording');
  const recordingOf = async (instanceId: string, id: string): Promise<string> => {
    const call = await calls.get(instanceId, id);
    if (!call) throw new AppError('not_found', `no call ${id}`);
    // A log that holds nothing of the call yet (just opened, or an empty one being unlisted as the call ends) is no recording.
    if (!call.recording_path || !logHoldsFrames(call.recording_path)) throw new AppError('not_found', `call ${id} has no recording`);
    return call.recording_path;
  };

  app.get<{ Params: { id: string } }>(
    '/api/v1/calls/:id/recording',
    { schema: { params: Params, response: { 200: { description: 'The recording, both parties mixed', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } }, '4xx': ErrorBody } }, preHandler: allowed },
    async (request, reply) => {
      const path = await recordingOf(request.apiKey!.instanceId, request.params.id);
      const wav = await renderRecording(path).catch((err: unknown) => {
        // Unlisted meanwhile (an empty recording removed as its call ended): no recording, not a failure.
        if (!logHoldsFrames(path)) throw new AppError('not_found', `call ${request.params.id} has no recording`);
        throw err;
      });
      reply.raw.once('close', () => wav.stream.destroy()); // a download given up stops its render
      return reply
        .header('content-type', 'audio/wav')
        .header('content-length', wav.bytes)
        .header('content-disposition', `attachment; filename="call-${request.params.id}.wav"`)
        .send(wav.stream);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/calls/:id/recording',
    { schema: { params: Params, response: { 204: NoContent, '4xx': ErrorBody } }, preHandler: allowed },
    async (request, reply) => {
      const path = await recordingOf(request.apiKey!.instanceId, request.params.id);
      rmSync(path, { force: true });
      await calls.setRecordingPath(request.params.id, null);
      return reply.status(204).send();
    },
  );
};
