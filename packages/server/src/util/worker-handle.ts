// WorkerHandle: the main thread's side of a worker thread that carries per-leg media — the worker's start and death, one
// pending `open` per leg, and stats round trips. The RTP relay (SIP legs) and the agent audio worker (AI agents) build on it.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';

/** The stats request every such worker answers with `{type: 'stats', requestId, stats}`. */
export interface StatsCommand {
  type: 'stats';
  requestId: number;
}

/**
 * Events every handle emits: `ready` (threadId) — the worker runs, as this OS thread (null off Linux); `exit` (err) — the
 * worker died: pending opens fail, stats answer empty, and the owner starts a new worker for its next leg.
 */
export abstract class WorkerHandle<Command extends { type: string }, Opened, Stats extends object> extends EventEmitter {
  private readonly pendingOpens = new Map<string, { resolve: (opened: Opened) => void; reject: (err: Error) => void }>();
  private readonly statRequests = new Map<number, (stats: Stats) => void>();
  private nextRequest = 0;
  private dead = false;

  protected constructor(
    private readonly worker: Worker,
    name: string,
  ) {
    super();
    worker.on('message', (event: { type: string; threadId?: number | null }) => (event.type === 'ready' ? this.emit('ready', event.threadId ?? null) : this.onEvent(event)));
    worker.on('error', (err) => this.died(err));
    worker.on('exit', (code) => this.died(new Error(`${name} exited with code ${code}`)));
    worker.unref();
  }

  /** The worker's events other than `ready`. */
  protected abstract onEvent(event: { type: string }): void;

  /** Sends a leg's `open` command; settles when the worker reports the leg opened (or failed, or died). */
  protected openLeg(id: string, command: Command): Promise<Opened> {
    return new Promise((resolve, reject) => {
      this.pendingOpens.set(id, { resolve, reject });
      this.send(command);
      if (this.dead) this.openFailed(id, 'the worker is not running');
    });
  }

  protected opened(id: string, opened: Opened): void {
    this.pendingOpens.get(id)?.resolve(opened);
    this.pendingOpens.delete(id);
  }

  /** A leg's open failed; false when no open of that leg was waiting (the error is about a running leg). */
  protected openFailed(id: string, message: string): boolean {
    const pending = this.pendingOpens.get(id);
    this.pendingOpens.delete(id);
    pending?.reject(new Error(message));
    return pending !== undefined;
  }

  /** Counters of every leg; empty once the worker is gone. */
  stats(): Promise<Stats> {
    if (this.dead) return Promise.resolve({} as Stats);
    const requestId = ++this.nextRequest;
    return new Promise((resolve) => {
      this.statRequests.set(requestId, resolve);
      this.send({ type: 'stats', requestId });
    });
  }

  protected statsArrived(requestId: number, stats: Stats): void {
    this.statRequests.get(requestId)?.(stats);
    this.statRequests.delete(requestId);
  }

  protected send(command: Command | StatsCommand): void {
    if (!this.dead) this.worker.postMessage(command);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private died(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.pendingOpens.values()) p.reject(err);
    this.pendingOpens.clear();
    for (const resolve of this.statRequests.values()) resolve({} as Stats);
    this.statRequests.clear();
    this.emit('exit', err);
  }
}
