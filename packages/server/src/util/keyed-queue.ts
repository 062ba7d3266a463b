// KeyedQueue: work run one after another per key (a call's writes, an instance's changes); a key with nothing left is forgotten.
export class KeyedQueue {
  /** The last work queued under each key that has work queued or running. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Keys with work queued or running. */
  keys(): IterableIterator<string> {
    return this.tails.keys();
  }

  /** Runs `work` once everything queued before it under `key` is done (failed work does not stop the queue); answers as `work` does. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.tails.set(key, run);
    const forget = () => {
      if (this.tails.get(key) === run) this.tails.delete(key);
    };
    run.then(forget, forget);
    return run;
  }

  /** Resolves once everything queued under `key` so far is done, however it ended. */
  async settled(key: string): Promise<void> {
    await this.tails.get(key)?.catch(() => undefined);
  }
}
