// GET /healthz: ok only while every mediasoup worker is alive.
import { HealthResponse } from '@astral/protocol';
import type { FastifyPluginAsync } from 'fastify';

export const healthApi: FastifyPluginAsync<{ healthy: () => boolean }> = async (app, { healthy }) => {
  app.get('/healthz', { schema: { response: { 200: HealthResponse, 503: HealthResponse } }, logLevel: 'warn' }, async (_req, reply) =>
    healthy() ? reply.send({ status: 'ok' }) : reply.status(503).send({ status: 'unavailable' }),
  );
};
