// Load-client child processes for the capacity bench: forked with tsx, driven over IPC, calls spread evenly over them.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallSpec, Target } from './calls.js';
import type { CallResult, CallTones, ClientRequest } from './load-client.js';
import type { ReceiverCounters } from './media.js';

const ENTRY = fileURLToPath(new URL('./load-client.ts', import.meta.url));

type Reply = { id: number; data: unknown };
type Op = ClientRequest['op'];

class ClientProc {
  private nextId = 1;
  private readonly waiting = new Map<number, (data: unknown) => void>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`load client exited (${code})`)));
      child.on('message', (msg: Reply) => {
        if (msg.id === 0) return resolve();
        this.waiting.get(msg.id)?.(msg.data);
        this.waiting.delete(msg.id);
      });
    });
  }

  request<T>(op: Op, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, resolve as (data: unknown) => void);
      this.child.send({ id, op, ...extra });
    });
  }
}

export class ClientProcs {
  private constructor(private readonly procs: ClientProc[]) {}

  static async start(count: number, url: string, target: Target): Promise<ClientProcs> {
    const procs = Array.from({ length: count }, () => new ClientProc(fork(ENTRY, [url, target], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    await Promise.all(procs.map((p) => p.ready));
    return new ClientProcs(procs);
  }

  get pids(): number[] {
    return this.procs.map((p) => p.child.pid!);
  }

  /** Sets up the calls, dealt round-robin over the processes, each setting up `concurrency` at a time. */
  async add(specs: CallSpec[], concurrency: number): Promise<CallResult[]> {
    const shares = this.procs.map((_, i) => specs.filter((_, k) => k % this.procs.length === i));
    const results = await Promise.all(this.procs.map((p, i) => p.request<CallResult[]>('add', { specs: shares[i], concurrency })));
    return results.flat();
  }

  async counters(): Promise<ReceiverCounters[]> {
    return (await Promise.all(this.procs.map((p) => p.request<ReceiverCounters[]>('counters')))).flat();
  }

  async tones(): Promise<CallTones[]> {
    return (await Promise.all(this.procs.map((p) => p.request<CallTones[]>('tones')))).flat();
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.child.exitCode !== null) return;
        const exited = new Promise((r) => p.child.once('exit', r));
        await p.request('close');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (p.child.exitCode === null) p.child.kill('SIGKILL');
      }),
    );
  }
}
