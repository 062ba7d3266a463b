// Rate limits per client address (@fastify/rate-limit): widget token minting, call creation, and failed authentication.
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { RateLimits } from '../config.js';
import { AppError } from '../util/errors.js';

const WINDOW_MS = 60_000;

/** The routes each per-route limit covers, as `METHOD url`. */
const LIMITED: Record<string, 'tokens' | 'calls'> = {
  'POST /api/v1/tokens': 'tokens',
  'POST /demo/token': 'tokens',
  'POST /api/v1/calls/click-to-call': 'calls',
  'POST /v1/calls': 'calls',
};

/** Thrown, so each API family's error mapper shapes it (`{code:'rate_limited'}` or `{detail}`); `Retry-After` is set. */
const tooMany = (after: string) => new AppError('rate_limited', `too many requests from this address; retry in ${after}`);

/** Registered before the routes: the limits attach to them as they are added. */
export const rateLimits = fp<{ limits: RateLimits }>(async (app, { limits }) => {
  // Runs before @fastify/rate-limit's own onRoute hook (registered just below), which reads `config.rateLimit`.
  app.addHook('onRoute', (route) => {
    const limit = [route.method].flat().map((method) => LIMITED[`${method} ${route.url}`]).find(Boolean);
    if (limit) route.config = { ...route.config, rateLimit: { max: limits[limit], timeWindow: WINDOW_MS } };
  });
  await app.register(rateLimit, { global: false, errorResponseBuilder: (_request, context) => tooMany(context.after) });

  // Authentication failures: every 401 counts against its address; past the limit, the address is refused until the window ends.
  const countFailure = app.createRateLimit({ max: limits.authFailures, timeWindow: WINDOW_MS, keyGenerator: (request) => `401:${request.ip}` });
  const blockedUntil = new Map<string, number>();
  app.addHook('onRequest', async (request, reply) => {
    const until = blockedUntil.get(request.ip);
    if (until === undefined) return;
    const seconds = Math.ceil((until - Date.now()) / 1000);
    if (seconds <= 0) {
      blockedUntil.delete(request.ip);
      return;
    }
    reply.header('retry-after', seconds);
    throw tooMany(`${seconds} seconds`);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401) return;
    const count = await countFailure(request);
    if (!count.isAllowed && count.isExceeded) blockedUntil.set(request.ip, Date.now() + count.ttl);
  });
});
