// One 1:1 call of the load client: through Astral (widget tokens, call:dial / call:incoming / call:answer, offered
// consumers) or through the bare relay (both parties produce, each asks for the other's consumer). Setup time = dial to
// audio received on both sides.
import type { ConsumeOffer } from '@astral/protocol';
import { CALLEE_HZ, CALLER_HZ, type ReceiverCounters } from './media.js';
import { Party } from './party.js';

export type Target = 'astral' | 'bare';

/** A caller/callee pair's widget tokens and the callee's identity (what the caller dials). */
export interface CallSpec {
  caller: string | null;
  callee: string | null;
  calleeIdentity: string;
}

const SETUP_TIMEOUT_MS = 30_000;

const ready = (party: Party, event: string): Promise<void> =>
  new Promise((resolve, reject) => {
    party.socket.once(event, () => resolve());
    party.socket.once('connect_error', (err: Error) => reject(new Error(`connect: ${err.message}`)));
  });

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out`)), SETUP_TIMEOUT_MS))),
  ]);
};

export class LoadCall {
  readonly caller: Party;
  readonly callee: Party;
  setupMs: number | null = null;
  error: string | null = null;

  constructor(
    private readonly url: string,
    private readonly target: Target,
    private readonly spec: CallSpec,
  ) {
    this.caller = new Party(url, spec.caller);
    this.callee = new Party(url, spec.callee);
  }

  /** Connects both parties, makes the call and waits for audio both ways; records the setup time or the error. */
  async start(): Promise<void> {
    try {
      await withTimeout(this.target === 'astral' ? this.astral() : this.bare(), 'call setup');
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  private async astral(): Promise<void> {
    await Promise.all([ready(this.caller, 'session:ready'), ready(this.callee, 'session:ready')]);
    await Promise.all([this.caller.setup(), this.callee.setup()]);
    const answered = new Promise<void>((resolve, reject) => {
      this.callee.socket.once('call:incoming', ({ callId }: { callId: string }, ack: (res: unknown) => void) => {
        ack({ ok: true, data: {} });
        Promise.all([this.callee.request('call:answer', { callId }), this.callee.produce(callId)]).then(() => resolve(), reject);
      });
    });
    const t0 = performance.now();
    const heard = this.audioBothWays();
    const { callId } = await this.caller.request<{ callId: string }>('call:dial', { destination: this.spec.calleeIdentity });
    await Promise.all([this.caller.produce(callId), answered]);
    await heard;
    this.setupMs = performance.now() - t0;
  }

  private async bare(): Promise<void> {
    await Promise.all([ready(this.caller, 'connect'), ready(this.callee, 'connect')]);
    await Promise.all([this.caller.setup(), this.callee.setup()]);
    const t0 = performance.now();
    const heard = this.audioBothWays();
    const [fromCaller, fromCallee] = await Promise.all([this.caller.produce('bare'), this.callee.produce('bare')]);
    const receive = async (party: Party, producerId: string) => {
      const offer = await party.request<ConsumeOffer>('bare:consume', { producerId });
      await party.consume(offer);
      await party.request('bare:resume', { consumerId: offer.consumerId });
    };
    await Promise.all([receive(this.callee, fromCaller), receive(this.caller, fromCallee)]);
    await heard;
    this.setupMs = performance.now() - t0;
  }

  private audioBothWays(): Promise<void> {
    const first = (party: Party) =>
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (party.stats.firstPacketAt > 0 || this.error) {
            clearInterval(poll);
            resolve();
          }
        }, 20);
      });
    return Promise.all([first(this.caller), first(this.callee)]).then(() => undefined);
  }

  /** Both receivers' counters: [what the caller hears, what the callee hears]. */
  counters(): [ReceiverCounters, ReceiverCounters] {
    return [this.caller.stats.counters(), this.callee.stats.counters()];
  }

  /** Whether each side hears the other's tone (not its own). */
  tones(): { caller: boolean; callee: boolean } {
    return { caller: this.caller.stats.hasTone(CALLEE_HZ), callee: this.callee.stats.hasTone(CALLER_HZ) };
  }

  close(): void {
    this.caller.close();
    this.callee.close();
  }
}
