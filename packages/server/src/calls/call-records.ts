// CallRecords: a live call's row in the store — inserted when it starts, marked answered and ended — with every write
// tracked so a shutdown can wait for them; a failed change is logged, never thrown at the call.
import type { CallDirection, Disposition, EndReason } from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/index.js';
import type { Call } from './call.js';

export class CallRecords {
  /** Call record and recording writes still in flight. */
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Inserts the call's row; the call's later changes wait for it (`call.stored`). */
  async start(call: Call, toUserId: string | null, direction: CallDirection): Promise<void> {
    const insert = this.store.calls.insert({
      id: call.id,
      instanceId: call.instanceId,
      fromUserId: call.caller.userId,
      toUserId,
      fromNumber: call.fromNumber,
      toNumber: call.toNumber,
      direction,
      startedAt: call.startedAt,
      channelId: call.channelId,
    });
    call.stored = insert.catch(() => undefined);
    await insert;
  }

  answered(call: Call, at: Date): void {
    this.change(call, () => this.store.calls.markAnswered(call.id, at));
  }

  ended(call: Call, end: { disposition: Disposition; endReason: EndReason; endedAt: Date; duration: number; talkTime: number }): void {
    this.change(call, () => this.store.calls.markEnded(call.id, end));
  }

  /** Keeps a settled-safe write (it never rejects) until it is done, so `flushed` waits for it. */
  track(write: Promise<void>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /** Resolves once every write in flight now is done. */
  async flushed(): Promise<void> {
    await Promise.all(this.writes);
  }

  /** Runs a change of the call's row after its earlier ones: a PostgreSQL pool's connections would not keep their order. */
  private change(call: Call, write: () => Promise<void>): void {
    const done = call.stored.then(write);
    call.stored = done.catch(() => undefined);
    this.persist(done);
  }

  private persist(write: Promise<void>): void {
    this.track(write.catch((err: unknown) => this.log.error({ err }, 'could not persist a call change')));
  }
}
