// Ring fan-out across two nodes: Redis + PostgreSQL + two server processes; the bot rings through node A, the widget
// sockets are split over both, so half of every ring crosses Redis (socket.io's adapter) to node B.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freshPostgresDatabase } from '../packages/server/test/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { startServer } from '../test/helpers/server.js';
import { runFanout, WARMUP_ROUNDS } from './fanout.js';
import { cpuMs } from './proc-stats.js';

/** Sockets rung per measured size (the target applies to 100). */
export const NODE_FANOUT_SIZES = [10, 100] as const;

/** PUBLISH commands Redis has served so far (the bus's messages and socket.io adapter broadcasts). */
async function publishes(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** Starts the cluster, measures, stops it; returns the table lines. */
export async function runFanoutAcrossNodes(rounds: number, log: (line: string) => void, closer: (c: { close(): Promise<void> }) => void): Promise<string[]> {
  const redis = await startRedis();
  closer({ close: () => redis.stop() });
  const shared = {
    ASTRAL_REDIS_URL: redis.url,
    ASTRAL_DATABASE_URL: await freshPostgresDatabase(),
    ASTRAL_SECRET_KEY: randomBytes(32).toString('hex'),
    ASTRAL_RECORDING: 'false',
  };
  const nodeA = await startServer({ ...shared, ASTRAL_NODE_ID: 'bench-a', ASTRAL_WORKERS: '1' });
  closer({ close: () => nodeA.stop() });
  const nodeB = await startServer({ ...shared, ASTRAL_NODE_ID: 'bench-b', ASTRAL_WORKERS: '1', ASTRAL_BOOTSTRAP_API_KEY: nodeA.apiKey });
  closer({ close: () => nodeB.stop() });
  // The same rings with every socket on node A first: what the second node adds, apart from the shared PostgreSQL.
  log('  all sockets on node A:');
  const alone = await runFanout(nodeA, rounds, log, [100], [nodeA]);
  log('  sockets alternating A, B:');
  const small = await runFanout(nodeA, rounds, log, NODE_FANOUT_SIZES.slice(0, -1), [nodeA, nodeB]);
  // The work of the 100-socket rings: both nodes' CPU (their Node processes, all threads) and Redis messages.
  const stats = new Redis(redis.url);
  const pids = [nodeA.process.pid!, nodeB.process.pid!];
  const [cpuBefore, pubBefore] = [pids.map((pid) => cpuMs(pid)), await publishes(stats)];
  const large = await runFanout(nodeA, rounds, log, NODE_FANOUT_SIZES.slice(-1), [nodeA, nodeB]);
  const [cpu, pub] = [pids.map((pid, i) => cpuMs(pid) - cpuBefore[i]!), (await publishes(stats)) - pubBefore];
  await stats.quit();
  const rings = rounds + WARMUP_ROUNDS;
  const work =
    `work per ring of 100 sockets (connecting them included): node A ${(cpu[0]! / rings).toFixed(1)} ms CPU, ` +
    `node B ${(cpu[1]! / rings).toFixed(1)} ms CPU, ${(pub / rings).toFixed(1)} Redis PUBLISH`;
  const split = [...small, ...large, work];
  return ['all sockets on node A (the reference on the same PostgreSQL):', ...alone.map((l) => '  ' + l), 'sockets alternating node A, node B:', ...split.map((l) => '  ' + l)];
}
