// ClusterBus: the nodes' Redis connections — request/reply RPC to one node over pub/sub, broadcasts to all, and keys.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ErrorCode } from '@astral/protocol';
import { AppError } from '../util/errors.js';

type Handler = (args: never, from: string) => unknown;
type Listener = (message: never, from: string) => void;

interface RpcRequest { kind: 'req'; id: string; from: string; method: string; args: unknown }
interface RpcReply { kind: 'res'; id: string; ok: boolean; result?: unknown; error?: { code: ErrorCode; message: string } }
interface Broadcast { kind: 'cast'; from: string; topic: string; message: unknown }

const nodeChannel = (nodeId: string) => `astral:rpc:${nodeId}`;
const BROADCAST = 'astral:cast';

export class ClusterBus {
  /** Commands and publishing. */
  readonly redis: Redis;
  /** Subscriptions (a subscribed connection takes no other commands). */
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, Listener>();
  private readonly pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();

  constructor(
    url: string,
    readonly nodeId: string,
    private readonly timeoutMs: number,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.sub = this.redis.duplicate();
    for (const conn of [this.redis, this.sub]) conn.on('error', (err) => onError(err, 'redis connection'));
    this.sub.on('message', (channel: string, raw: string) => this.onMessage(channel, raw));
  }

  /** Connections handed to others (socket.io's adapter), closed with the bus. */
  private readonly extra: Redis[] = [];

  /** A further connection for another publisher or subscriber (socket.io's adapter). */
  duplicate(): Redis {
    const conn = this.redis.duplicate();
    conn.on('error', (err) => this.onError(err, 'redis connection'));
    this.extra.push(conn);
    return conn;
  }

  async start(): Promise<void> {
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    await this.sub.subscribe(nodeChannel(this.nodeId), BROADCAST);
  }

  /** Serves `method` to other nodes; what it throws reaches the caller as the same AppError code. */
  handle<A, R>(method: string, fn: (args: A, from: string) => R | Promise<R>): void {
    this.handlers.set(method, fn as Handler);
  }

  /** Receives `topic` broadcasts of other nodes. */
  listen<M>(topic: string, fn: (message: M, from: string) => void): void {
    this.listeners.set(topic, fn as Listener);
  }

  /** Calls `method` on one node; rejects `unavailable` when it does not answer in time. */
  call<R>(nodeId: string, method: string, args: unknown, timeoutMs = this.timeoutMs): Promise<R> {
    const id = randomUUID();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AppError('unavailable', `node ${nodeId} did not answer ${method} in time`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const request: RpcRequest = { kind: 'req', id, from: this.nodeId, method, args };
      this.redis.publish(nodeChannel(nodeId), JSON.stringify(request)).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err as Error);
      });
    });
  }

  /** Tells every other node (fire-and-forget). */
  broadcast(topic: string, message: unknown): void {
    const cast: Broadcast = { kind: 'cast', from: this.nodeId, topic, message };
    this.redis.publish(BROADCAST, JSON.stringify(cast)).catch((err: unknown) => this.onError(err, `broadcast ${topic}`));
  }

  private onMessage(channel: string, raw: string): void {
    let msg: RpcRequest | RpcReply | Broadcast;
    try {
      msg = JSON.parse(raw) as RpcRequest | RpcReply | Broadcast;
    } catch (err) {
      return this.onError(err, `a malformed message on ${channel}`);
    }
    if (msg.kind === 'cast') {
      if (msg.from !== this.nodeId) this.listeners.get(msg.topic)?.(msg.message as never, msg.from);
    } else if (msg.kind === 'res') {
      const waiting = this.pending.get(msg.id);
      if (!waiting) return;
      this.pending.delete(msg.id);
      clearTimeout(waiting.timer);
      if (msg.ok) waiting.resolve(msg.result);
      else waiting.reject(new AppError(msg.error!.code, msg.error!.message));
    } else {
      // After the current turn: a reply that arrived just before (in the same read) resumes its caller's await chain
      // first, so what the caller sends on a socket in answer to it (an ack) goes out before what this request sends.
      setImmediate(() => void this.serve(msg));
    }
  }

  private async serve(req: RpcRequest): Promise<void> {
    let reply: RpcReply;
    try {
      const handler = this.handlers.get(req.method);
      if (!handler) throw new AppError('not_found', `no cluster method ${req.method}`);
      reply = { kind: 'res', id: req.id, ok: true, result: await handler(req.args as never, req.from) };
    } catch (err) {
      if (!(err instanceof AppError)) this.onError(err, `cluster method ${req.method}`);
      const body = { code: (err instanceof AppError ? err.code : 'internal') as ErrorCode, message: err instanceof AppError ? err.message : 'Internal error' };
      reply = { kind: 'res', id: req.id, ok: false, error: body };
    }
    this.redis.publish(nodeChannel(req.from), JSON.stringify(reply)).catch((err: unknown) => this.onError(err, 'rpc reply'));
  }

  async close(): Promise<void> {
    for (const { timer, reject } of this.pending.values()) {
      clearTimeout(timer);
      reject(new AppError('unavailable', 'this node is shutting down'));
    }
    this.pending.clear();
    await Promise.allSettled([this.sub, this.redis, ...this.extra].map((conn) => conn.quit()));
  }
}
