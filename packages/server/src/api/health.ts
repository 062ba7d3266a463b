// GET /healthz (liveness: every mediasoup worker alive) and GET /readyz (readiness: database, workers, SIP listener; not while draining).
import { HealthResponse } from '@astral/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';

/** A readiness check: true when its part is ready. */
export type ReadyCheck = () => boolean | Promise<boolean>;

const ReadyResponse = Type.Object({
  /** `draining` while the server shuts down (SIGTERM): it takes no new calls, so a load balancer should send none. */
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable'), Type.Literal('draining')]),
  /** Each part checked (database, workers, sip when SIP is on): `ok` or `unavailable`. */
  checks: Type.Record(Type.String(), Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])),
});

export const healthApi: FastifyPluginAsync<{ healthy: () => boolean; ready: Record<string, ReadyCheck>; draining: () => boolean }> = async (
  app,
  { healthy, ready, draining },
) => {
  app.get('/healthz', { schema: { response: { 200: HealthResponse, 503: HealthResponse } }, logLevel: 'warn' }, async (_req, reply) =>
    healthy() ? reply.send({ status: 'ok' }) : reply.status(503).send({ status: 'unavailable' }),
  );
  app.get('/readyz', { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } }, logLevel: 'warn' }, async (_req, reply) => {
    const results = await Promise.all(Object.entries(ready).map(async ([name, check]) => [name, (await Promise.resolve().then(check).catch(() => false)) ? 'ok' : 'unavailable'] as const));
    const checks = Object.fromEntries(results);
    const ok = results.every(([, r]) => r === 'ok');
    if (draining()) return reply.status(503).send({ status: 'draining', checks });
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
};
