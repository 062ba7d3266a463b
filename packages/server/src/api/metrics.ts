// GET /metrics: Prometheus text format, and the onResponse hook that times every request by its route pattern.
// Guarded by ASTRAL_METRICS_TOKEN (a Bearer token) when set; otherwise open to this machine only, never through a proxy.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../metrics.js';
import { AppError } from '../util/errors.js';

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
const proxied = (request: FastifyRequest) => ['forwarded', 'x-forwarded-for', 'x-real-ip'].some((h) => request.headers[h] !== undefined);
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Whether `request` may read the metrics. */
function allowed(request: FastifyRequest, token: string | null): boolean {
  if (token === null) return isLoopback(request.socket.remoteAddress ?? '') && !proxied(request);
  const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return presented !== undefined && sameText(presented, token);
}

export const metricsApi = fp(async (app: FastifyInstance, { metrics, token }: { metrics: Metrics; token: string | null }) => {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpAnswered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
  });
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description: 'Text exposition format. Requires `Authorization: Bearer $ASTRAL_METRICS_TOKEN` when that is set; else answers local clients only.',
        response: { 200: { content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
      logLevel: 'warn',
    },
    async (request, reply) => {
      if (!allowed(request, token)) {
        throw token === null ? new AppError('forbidden', '/metrics answers this machine only (set ASTRAL_METRICS_TOKEN)') : new AppError('unauthorized', 'a valid metrics token is required');
      }
      return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
});
