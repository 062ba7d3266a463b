// POST /demo/token: tokens for the demo page's phones, answered to loopback clients only.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TokenIssuer } from '../auth/token-issuer.js';
import { AppError } from '../util/errors.js';

/** The demo's two phones; each gets an extension so it can also be dialled by number. */
const DEMO_USERS: Record<string, { display_name: string; extension: string }> = {
  alice: { display_name: 'Alice', extension: '1001' },
  bob: { display_name: 'Bob', extension: '1002' },
};

const Body = Type.Object({ identity: Type.Union(Object.keys(DEMO_USERS).map((k) => Type.Literal(k))) }, { additionalProperties: false });

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');

export const demoApi: FastifyPluginAsync<{ issuer: TokenIssuer; instanceId: string }> = async (app, { issuer, instanceId }) => {
  app.post<{ Body: { identity: string } }>('/demo/token', { schema: { body: Body } }, async (request) => {
    if (!isLoopback(request.socket.remoteAddress ?? '')) {
      throw new AppError('forbidden', 'the demo token endpoint only answers this machine');
    }
    const user = DEMO_USERS[request.body.identity]!;
    return issuer.issue(instanceId, { identity: request.body.identity, ...user, ttl_seconds: 3600 });
  });
};
