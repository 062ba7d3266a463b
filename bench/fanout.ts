// Ring fan-out: a bot's REST ring of a channel → `call:incoming` on every connected widget socket (node socket.io clients).
import { performance } from 'node:perf_hooks';
import { MAX_CHANNEL_RECIPIENTS } from '@astral/protocol';
import { io, type Socket } from 'socket.io-client';
import { mintTokenBody, type RunningServer } from '../test/helpers/server.js';
import { latencyRowAt, percentile, row } from './stats.js';

/** Connected widget sockets rung per measured size. */
export const FANOUT_SIZES = [1, 10, 100] as const;
/** Fan-out target: the 100-socket p99 at or under this. */
export const FANOUT_TARGET_MS = 50;
export const WARMUP_ROUNDS = 2;
const STEP_TIMEOUT_MS = 10_000;

type Ack = { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string } };
type Auth = Record<string, string>;

/** One JSON REST request; throws on an unexpected status. */
export async function rest(server: RunningServer, method: string, path: string, auth: Auth, body: unknown, expect: number): Promise<Record<string, unknown>> {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} (expected ${expect}) ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export const apiKey = (server: RunningServer): Auth => ({ 'x-api-key': server.apiKey });
export const asBot = (token: string): Auth => ({ authorization: `Bot ${token}` });

/** A bot (REST with the API key): its snowflake id and `bt_…` token. */
export async function createBot(server: RunningServer, name: string): Promise<{ id: string; token: string }> {
  const bot = await rest(server, 'POST', '/api/v1/bots', apiKey(server), { name }, 201);
  return { id: bot.id as string, token: bot.token as string };
}

/** A channel of these recipients (REST with the API key); returns its id. */
export async function createChannel(server: RunningServer, recipients: string[]): Promise<string> {
  return (await rest(server, 'POST', '/api/v1/channels', apiKey(server), { recipients }, 201)).id as string;
}

/** A gateway socket that has received `session:ready`. */
export function connect(server: RunningServer, token: string): Promise<Socket> {
  const socket = io(server.url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('session:ready', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

/** The round in flight: when the ring request left, and when each socket saw `call:incoming`. */
interface Round {
  t0: number;
  at: (number | undefined)[];
  callIds: Set<string>;
  missing: number;
  done: () => void;
}

export interface FanoutResult {
  sockets: number;
  users: number;
  layout: string;
  /** Ring request sent → each socket's `call:incoming` (ms, one per socket per round). */
  perSocket: number[];
  /** Ring request sent → the last socket's `call:incoming` (ms, one per round). */
  last: number[];
  /** Ring request sent → its 204 response (ms, one per round). */
  response: number[];
  failures: string[];
}

const timeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))]);

/**
 * Rings `size` sockets: `min(size, MAX_CHANNEL_RECIPIENTS - 1)` users (the bot takes one recipient slot) with the
 * sockets spread over them as evenly as possible, in a fresh channel; `rounds` measured rings after a warm-up.
 */
async function measureSize(server: RunningServer, bot: { id: string; token: string }, botSocket: Socket, size: number, rounds: number, nodes: RunningServer[]): Promise<FanoutResult> {
  const userCount = Math.min(size, MAX_CHANNEL_RECIPIENTS - 1);
  const users: { token: string; user_id: string }[] = [];
  for (let i = 0; i < userCount; i++) users.push(await mintTokenBody(server, `fanout-${size}-${i}-${Date.now().toString(36)}`));
  const channelId = await createChannel(server, [bot.id, ...users.map((u) => u.user_id)]);
  const perUser = users.map((_, i) => Math.floor(size / userCount) + (i < size % userCount ? 1 : 0));
  const counts = [...new Set(perUser)].sort((a, b) => a - b);
  const layout = `${size} socket${size === 1 ? '' : 's'} = ${userCount} user${userCount === 1 ? '' : 's'} x ${counts.join('-')} widget socket${counts.at(-1) === 1 ? '' : 's'} each`;

  const sockets: Socket[] = [];
  let round: Round | null = null;
  try {
    // Several nodes: each user's widget sockets alternate between them (socket k of the size on node k mod n).
    for (const [u, n] of perUser.entries()) {
      sockets.push(...(await Promise.all(Array.from({ length: n }, (_, j) => connect(nodes[(sockets.length + j) % nodes.length]!, users[u]!.token)))));
    }
    sockets.forEach((socket, i) => {
      socket.on('call:incoming', (data: { callId: string }, ack: (res: Ack) => void) => {
        const t = performance.now();
        ack({ ok: true, data: {} });
        const r = round;
        if (!r || r.at[i] !== undefined) return;
        r.at[i] = t - r.t0;
        r.callIds.add(data.callId);
        if (--r.missing === 0) r.done();
      });
    });

    const recipients = users.map((u) => u.user_id);
    const result: FanoutResult = { sockets: size, users: userCount, layout, perSocket: [], last: [], response: [], failures: [] };
    for (let i = -WARMUP_ROUNDS; i < rounds; i++) {
      let done!: () => void;
      const allRung = new Promise<void>((resolve) => (done = resolve));
      const r: Round = { t0: 0, at: new Array<number | undefined>(size).fill(undefined), callIds: new Set(), missing: size, done };
      round = r;
      try {
        r.t0 = performance.now();
        await rest(server, 'POST', `/api/v1/channels/${channelId}/call/ring`, asBot(bot.token), { recipients }, 204);
        const responded = performance.now() - r.t0;
        await timeout(allRung, STEP_TIMEOUT_MS, `call:incoming on ${r.missing} of ${size} sockets`);
        if (r.callIds.size !== 1) throw new Error(`sockets were rung for ${r.callIds.size} different calls`);
        if (i >= 0) {
          const at = r.at as number[];
          result.perSocket.push(...at);
          result.last.push(Math.max(...at));
          result.response.push(responded);
        }
      } catch (err) {
        result.failures.push(`${size} sockets, round ${i + 1}: ${(err as Error).message}`);
      } finally {
        round = null;
        // Ends the ringing-only call; the bot's CALL_DELETE says it is gone before the next ring.
        const deleted = new Promise<void>((resolve) => {
          const onDelete = (data: { channel_id: string }) => {
            if (data.channel_id !== channelId) return;
            botSocket.off('CALL_DELETE', onDelete);
            resolve();
          };
          botSocket.on('CALL_DELETE', onDelete);
        });
        try {
          await rest(server, 'POST', `/api/v1/channels/${channelId}/call/stop-ringing`, asBot(bot.token), { recipients }, 204);
          await timeout(deleted, STEP_TIMEOUT_MS, "the bot's CALL_DELETE");
        } catch (err) {
          result.failures.push(`${size} sockets, round ${i + 1}, stop-ringing: ${(err as Error).message}`);
        }
      }
    }
    return result;
  } finally {
    for (const socket of sockets) socket.disconnect();
  }
}

/**
 * Runs every size (or `sizes`); returns the table lines to print. The bot rings through `server`; widget sockets connect
 * to `nodes` in turn (default: all to `server`).
 */
export async function runFanout(server: RunningServer, rounds: number, log: (line: string) => void, sizes: readonly number[] = FANOUT_SIZES, nodes: RunningServer[] = [server]): Promise<string[]> {
  const bot = await createBot(server, 'fanout-bench');
  const botSocket = await connect(server, bot.token);
  const results: FanoutResult[] = [];
  try {
    for (const size of sizes) {
      const started = Date.now();
      const r = await measureSize(server, bot, botSocket, size, rounds, nodes);
      results.push(r);
      log(
        `  ${r.layout.padEnd(50)} ${r.last.length}/${rounds} rings in ${((Date.now() - started) / 1000).toFixed(1)} s` +
          `   last socket p50 ${percentile(r.last, 50).toFixed(1)} ms`,
      );
    }
  } finally {
    botSocket.disconnect();
  }
  const lines: string[] = [];
  for (const r of results) {
    const verdict = (samples: number[]): string | undefined => {
      if (r.sockets !== 100) return undefined;
      const p99 = percentile(samples, 99);
      return `target p99 <= ${FANOUT_TARGET_MS} ms (${p99 <= FANOUT_TARGET_MS ? 'met' : 'MISSED'})`;
    };
    lines.push(`${r.layout}:`);
    lines.push('  ' + latencyRowAt('ring → call:incoming, per socket', r.perSocket, [50, 99], verdict(r.perSocket)));
    lines.push('  ' + latencyRowAt('ring → call:incoming, last socket of the round', r.last, [50, 99], verdict(r.last)));
    lines.push('  ' + latencyRowAt('(ring request → 204 response)', r.response, [50, 99]));
  }
  const failures = results.flatMap((r) => r.failures);
  lines.push(row('failures', failures.length === 0 ? 'none' : String(failures.length)));
  for (const f of failures) lines.push('  ' + f);
  return lines;
}
