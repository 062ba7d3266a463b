// ClusterBus: the nodes' Redis connections — request/reply RPC and notes to one node over pub/sub (batched: one message
// per node per turn of the event loop), broadcasts to all, keys, and a goodbye as it closes (peers stop waiting for it).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ErrorCode } from '@astral/protocol';
import { AppError } from '../util/errors.js';

type Handler = (args: never, from: string) => unknown;
type Listener = (message: never, from: string) => void;

interface RpcRequest { kind: 'req'; id: string; method: string; args: unknown }
/** A one-way request: no id, no reply. */
interface RpcNote { kind: 'note'; method: string; args: unknown }
interface RpcReply { kind: 'res'; id: string; ok: boolean; result?: unknown; error?: { code: ErrorCode; message: string } }
type RpcItem = RpcRequest | RpcNote | RpcReply;
/** One publish to a node: everything this node had for it in one turn of the event loop, in the order it was sent. */
interface RpcBatch { kind: 'batch'; from: string; items: RpcItem[] }
interface Broadcast { kind: 'cast'; from: string; topic: string; message: unknown }

const nodeChannel = (nodeId: string) => `astral:rpc:${nodeId}`;
const BROADCAST = 'astral:cast';
/** A bus's goodbye as it closes: the others stop waiting for its answers at once. */
const LEFT = 'bus:left';

export class ClusterBus {
  /** Commands and publishing. */
  readonly redis: Redis;
  /** Subscriptions (a subscribed connection takes no other commands). */
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, Listener>();
  /** Calls waiting for their answer, with the node asked. */
  private readonly pending = new Map<string, { nodeId: string; method: string; resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  /** Items waiting for the end of this turn, per destination node. */
  private readonly outbox = new Map<string, RpcItem[]>();
  private flushing: NodeJS.Immediate | null = null;
  private closed = false;

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

  /** Hears another node's bus close (its calls to it have failed already). */
  onLeft(fn: (nodeId: string) => void): void {
    this.listen<null>(LEFT, (_, from) => fn(from));
  }

  /**
   * Calls `method` on one node; rejects `unavailable` when it does not answer in time. Calls (and notes) to the same
   * node in the same turn travel as one message; each is answered, and times out, on its own.
   */
  call<R>(nodeId: string, method: string, args: unknown, timeoutMs = this.timeoutMs): Promise<R> {
    const id = randomUUID();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new AppError('unavailable', `node ${nodeId} did not answer ${method} in time`)), timeoutMs);
      this.pending.set(id, { nodeId, method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.enqueue(nodeId, { kind: 'req', id, method, args });
    });
  }

  /** A node is gone (`why`: lost, left): the calls still waiting for it fail now, `unavailable`, not at their timeout. */
  failPendingTo(nodeId: string, why: string): void {
    this.failPending((asked) => asked === nodeId, (method) => `node ${nodeId} ${why} before it answered ${method}`);
  }

  /** Fails the waiting calls to the nodes `which` picks, `unavailable` with `why`. */
  private failPending(which: (nodeId: string) => boolean, why: (method: string) => string): void {
    for (const [id, { nodeId, method }] of [...this.pending]) if (which(nodeId)) this.settle(id, new AppError('unavailable', why(method)));
  }

  /** Runs `method` on one node without waiting for an answer (in order with this node's calls and notes to it). */
  send(nodeId: string, method: string, args: unknown): void {
    this.enqueue(nodeId, { kind: 'note', method, args });
  }

  /** Tells every other node (fire-and-forget), after what this node sent them before (the outbox goes out first). */
  broadcast(topic: string, message: unknown): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flush();
    const cast: Broadcast = { kind: 'cast', from: this.nodeId, topic, message };
    this.redis.publish(BROADCAST, JSON.stringify(cast)).catch((err: unknown) => this.onError(err, `broadcast ${topic}`));
  }

  /** Queues an item for `nodeId`; the outbox goes out once this turn's work is done. */
  private enqueue(nodeId: string, item: RpcItem): void {
    const items = this.outbox.get(nodeId);
    if (items) items.push(item);
    else this.outbox.set(nodeId, [item]);
    this.flushing ??= setImmediate(() => this.flush());
  }

  /** One publish per node; a publish that fails fails the calls it carried. */
  private flush(): void {
    this.flushing = null;
    for (const [nodeId, items] of this.outbox) {
      const batch: RpcBatch = { kind: 'batch', from: this.nodeId, items };
      this.redis.publish(nodeChannel(nodeId), JSON.stringify(batch)).catch((err: unknown) => {
        if (!items.some((item) => item.kind === 'req')) this.onError(err, `sending to node ${nodeId}`);
        for (const item of items) if (item.kind === 'req') this.settle(item.id, err as Error);
      });
    }
    this.outbox.clear();
  }

  /** Ends a call still waiting for `id`: with `error`, else with its result. */
  private settle(id: string, error: Error | null, result?: unknown): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve(result);
  }

  private onMessage(channel: string, raw: string): void {
    let msg: RpcBatch | Broadcast;
    try {
      msg = JSON.parse(raw) as RpcBatch | Broadcast;
    } catch (err) {
      return this.onError(err, `a malformed message on ${channel}`);
    }
    if (msg.kind === 'cast') {
      if (msg.from === this.nodeId) return;
      if (msg.topic === LEFT) this.failPendingTo(msg.from, 'left the cluster');
      this.listeners.get(msg.topic)?.(msg.message as never, msg.from);
      return;
    }
    const { from, items } = msg;
    for (const item of items) if (item.kind === 'res') this.settle(item.id, item.ok ? null : new AppError(item.error!.code, item.error!.message), item.result);
    const work = items.filter((item): item is RpcRequest | RpcNote => item.kind !== 'res');
    if (work.length === 0) return;
    // After the current turn: a reply that arrived just before (in the same read) resumes its caller's await chain
    // first, so what the caller sends on a socket in answer to it (an ack) goes out before what this request sends.
    // Then one step starts every request and note of the batch, in the order they were sent.
    setImmediate(() => {
      for (const item of work) {
        if (item.kind === 'req') void this.serve(from, item);
        else this.take(from, item);
      }
    });
  }

  private async serve(from: string, req: RpcRequest): Promise<void> {
    let reply: RpcReply;
    try {
      const handler = this.handlers.get(req.method);
      if (!handler) throw new AppError('not_found', `no cluster method ${req.method}`);
      reply = { kind: 'res', id: req.id, ok: true, result: await handler(req.args as never, from) };
    } catch (err) {
      if (!(err instanceof AppError)) this.onError(err, `cluster method ${req.method}`);
      const body = { code: (err instanceof AppError ? err.code : 'internal') as ErrorCode, message: err instanceof AppError ? err.message : 'Internal error' };
      reply = { kind: 'res', id: req.id, ok: false, error: body };
    }
    this.enqueue(from, reply);
  }

  /** Runs a note's method; what fails is only logged (nobody waits for it). */
  private take(from: string, note: RpcNote): void {
    const handler = this.handlers.get(note.method);
    if (!handler) return this.onError(new Error(`no cluster method ${note.method}`), `note ${note.method}`);
    try {
      const done = handler(note.args as never, from);
      if (done instanceof Promise) done.catch((err: unknown) => this.onError(err, `note ${note.method}`));
    } catch (err) {
      this.onError(err, `note ${note.method}`);
    }
  }

  /** Sends what is queued, says goodbye (after it), fails what still waits here, and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.broadcast(LEFT, null);
    this.failPending(() => true, () => 'this node is shutting down');
    await Promise.allSettled([this.sub, this.redis, ...this.extra].map((conn) => conn.quit()));
  }
}
