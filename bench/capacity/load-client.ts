// The load client: many 1:1 calls in one process, one shared 20 ms media clock for all of them (no per-call timers);
// run in-process (the smoke test) or as a child process driven over IPC by the benchmark (`node load-client.ts`).
import { CALLEE_HZ, CALLER_HZ, toneFrames, type ReceiverCounters } from './media.js';
import { LoadCall, type CallSpec, type Target } from './calls.js';

const FRAME_MS = 20;

export interface CallResult {
  setupMs: number | null;
  error: string | null;
}

export interface CallTones {
  caller: boolean;
  callee: boolean;
  packets: [number, number];
}

export class LoadClient {
  private readonly calls: LoadCall[] = [];
  private readonly callerFrames = toneFrames(CALLER_HZ);
  private readonly calleeFrames = toneFrames(CALLEE_HZ);
  private frame = 0;
  private clock: NodeJS.Timeout | null = null;
  private clockStart = 0;

  constructor(
    private readonly url: string,
    private readonly target: Target,
  ) {}

  /** Sends the frames due since the clock started (catching up when the loop was late), to every party at once. */
  private tick(): void {
    const due = Math.floor((performance.now() - this.clockStart) / FRAME_MS);
    for (; this.frame < due; this.frame++) {
      const i = this.frame % this.callerFrames.length;
      for (const call of this.calls) {
        call.caller.tick(this.callerFrames[i]!);
        call.callee.tick(this.calleeFrames[i]!);
      }
    }
  }

  /** Sets up calls, at most `concurrency` at a time; resolves with each one's setup time or error. */
  async add(specs: CallSpec[], concurrency: number): Promise<CallResult[]> {
    if (!this.clock) {
      this.clockStart = performance.now();
      this.clock = setInterval(() => this.tick(), FRAME_MS / 2);
    }
    const results: CallResult[] = new Array(specs.length);
    let next = 0;
    const lane = async () => {
      while (next < specs.length) {
        const index = next++;
        const call = new LoadCall(this.url, this.target, specs[index]!);
        this.calls.push(call);
        await call.start();
        results[index] = { setupMs: call.setupMs, error: call.error };
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, lane));
    return results;
  }

  /** Every receiver's counters so far (two per call). */
  counters(): ReceiverCounters[] {
    return this.calls.flatMap((c) => c.counters());
  }

  /** Per call: whether each side heard the other's tone, and how many packets each received. */
  tones(): CallTones[] {
    return this.calls.map((c) => {
      const [caller, callee] = c.counters();
      return { ...c.tones(), packets: [caller.received, callee.received] };
    });
  }

  close(): void {
    if (this.clock) clearInterval(this.clock);
    for (const c of this.calls.splice(0)) c.close();
  }
}

/** IPC requests from the benchmark to a load-client process, and the replies. */
export type ClientRequest =
  | { id: number; op: 'add'; specs: CallSpec[]; concurrency: number }
  | { id: number; op: 'counters' }
  | { id: number; op: 'tones' }
  | { id: number; op: 'close' };

if (process.send && process.argv[1]?.endsWith('load-client.ts')) {
  const [url, target] = process.argv.slice(2) as [string, Target];
  const client = new LoadClient(url, target);
  process.on('message', (req: ClientRequest) => {
    const reply = (data: unknown) => process.send!({ id: req.id, data });
    if (req.op === 'add') void client.add(req.specs, req.concurrency).then(reply);
    else if (req.op === 'counters') reply(client.counters());
    else if (req.op === 'tones') reply(client.tones());
    else {
      client.close();
      reply(null);
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.send({ id: 0, data: 'ready' });
}
