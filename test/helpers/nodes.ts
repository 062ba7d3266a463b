// Two Astral nodes for multi-node e2e tests: Redis + a fresh PostgreSQL database + node A and node B (same secret and
// admin key), a load balancer preferring node B, the widget site; and the REST, ring and tone checks those tests share.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { freshPostgresDatabase } from '../../packages/server/test/postgres.js';
import { startBalancer, type Balancer } from './balancer.js';
import { PhonePage } from './phone.js';
import { startRedis, type RunningRedis } from './redis.js';
import { startServer, type RunningServer } from './server.js';
import { startSite, type Site } from './site.js';
import { freeSipPort } from './sipp.js';

const TOLERANCE_HZ = 25;

export interface TwoNodes {
  redis: RunningRedis;
  redisClient: Redis;
  a: RunningServer;
  b: RunningServer;
  /** The environment every node of this cluster shares (for starting another one). */
  shared: Record<string, string>;
  /** Each node's SIP port (0: SIP off). */
  sipPorts: { a: number; b: number };
  balancer: Balancer;
  site: Site;
  /** The phones `open` opened, closed by `close`. */
  pages: PhonePage[];
  /** Opens a widget page on `server` and waits until it is ready. */
  open(browser: Browser, server: string, token: string): Promise<PhonePage>;
  /** The node owning a live call (its Redis key). */
  ownerOf(callId: string): Promise<string | null>;
  /** Stops everything (and `extra` nodes a test started on `shared`). */
  close(extra?: (RunningServer | undefined)[]): Promise<void>;
}

/** Starts the cluster; `sip` gives each node its own SIP port; `env` is added to every node's environment. */
export async function startTwoNodes(opts: { sip?: boolean; env?: Record<string, string> } = {}): Promise<TwoNodes> {
  const redis = await startRedis();
  const redisClient = new Redis(redis.url);
  const shared = {
    ASTRAL_REDIS_URL: redis.url,
    ASTRAL_DATABASE_URL: await freshPostgresDatabase(),
    ASTRAL_SECRET_KEY: randomBytes(32).toString('hex'),
    ASTRAL_RECORDING: 'false',
    ASTRAL_NODE_HEARTBEAT_MS: '500',
    ASTRAL_NODE_TTL_MS: '2000',
    ...opts.env,
  };
  const sipPorts = { a: opts.sip ? await freeSipPort() : 0, b: 0 };
  while (opts.sip && (sipPorts.b === 0 || sipPorts.b === sipPorts.a)) sipPorts.b = await freeSipPort();
  const a = await startServer({ ...shared, ASTRAL_NODE_ID: 'node-a', ASTRAL_SIP_PORT: String(sipPorts.a) });
  const b = await startServer({ ...shared, ASTRAL_NODE_ID: 'node-b', ASTRAL_SIP_PORT: String(sipPorts.b), ASTRAL_BOOTSTRAP_API_KEY: a.apiKey });
  b.apiKey = a.apiKey;
  const balancer = await startBalancer([b.url, a.url]);
  const site = await startSite(a.url);
  const pages: PhonePage[] = [];
  return {
    redis,
    redisClient,
    a,
    b,
    shared,
    sipPorts,
    balancer,
    site,
    pages,
    async open(browser, server, token) {
      const page = await PhonePage.open(browser, site.url, server, token);
      pages.push(page);
      await page.waitState('ready');
      return page;
    },
    ownerOf: (callId) => redisClient.get(`astral:call:${callId}`),
    async close(extra = []) {
      if (process.env.DUMP_SERVER) for (const node of [a, b, ...extra]) console.log(node?.output());
      await Promise.all(pages.map((p) => p.close().catch(() => undefined)));
      await site.close();
      await balancer.close();
      await Promise.all([a, b, ...extra].map((node) => node?.stop()));
      redisClient.disconnect();
      await redis.stop();
    },
  };
}

export const api = (server: RunningServer, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { 'content-type': 'application/json', 'x-api-key': server.apiKey, ...init.headers } });

export async function liveLegs(server: RunningServer): Promise<{ channel_id: string; linkedid: string; status: string }[]> {
  const res = await api(server, '/api/v1/calls/live');
  assert.equal(res.status, 200);
  return (await res.json()) as { channel_id: string; linkedid: string; status: string }[];
}

/** Polls the shared store (through `server`) until the call's record is completed. */
export async function completedRecord(server: RunningServer, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const body = (await (await api(server, `/api/v1/calls/${id}`)).json()) as Record<string, unknown>;
    if (body.status === 'completed') return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `from` dials `destination`, `to` rings and answers; both are in the call. */
export async function call(from: PhonePage, to: PhonePage, destination: string): Promise<string> {
  const callId = (await from.invoke('call', destination)) as string;
  await to.waitState('incoming');
  await from.waitState('ringing');
  await to.invoke('answer');
  await Promise.all([from.waitState('in-call'), to.waitState('in-call')]);
  return callId;
}

/** Each side hears the other's tone (listening until it arrives: media follows signalling by a moment). */
export async function assertTones(caller: PhonePage, callerHz: number, callee: PhonePage, calleeHz: number): Promise<void> {
  await Promise.all([caller.expectTone(calleeHz, TOLERANCE_HZ), callee.expectTone(callerHz, TOLERANCE_HZ)]);
}
