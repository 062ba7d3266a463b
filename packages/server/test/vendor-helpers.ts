// What the vendor adapter tests share: an agent row, polling, reading a stream whole or aborting it midway, a voiced
// test signal, a check that no key leaks, and an engine host that records what the pipeline does to it.
import type { TranscriptTurn } from '../src/audio/agent-audio.js';
import type { EngineHost } from '../src/audio/engine.js';
import { BUILT_IN_AGENT, type Agent } from '../src/store/agents.js';

export const agent = (fields: Partial<Agent> = {}): Agent => ({ ...BUILT_IN_AGENT, id: '1', instanceId: 'i', createdAt: '', ...fields });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 5 ms until it gives something truthy. */
export async function until<T>(what: string, probe: () => T | undefined | null | false, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) {
    const got = probe();
    if (got) return got;
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export const samplesOf = (chunks: Int16Array[]) => chunks.reduce((n, c) => n + c.length, 0);

/** A signal that never aborts. */
export const never = () => new AbortController().signal;

/** Reads `items` until `ready` holds, then aborts; resolves to the error the reading ended with. */
export async function abortWhen<T>(items: (signal: AbortSignal) => AsyncIterable<T>, ready: (got: T[]) => boolean): Promise<Error> {
  const controller = new AbortController();
  const got: T[] = [];
  const reading = (async () => {
    for await (const item of items(controller.signal)) got.push(item);
  })();
  await until('the first output', () => ready(got));
  controller.abort();
  return reading.then(
    () => new Error('no error'),
    (err: Error) => err,
  );
}

/** `text` holds none of `keys`, not even a key's last four characters. */
export const holdsNoKey = (text: string, keys: string[]) => keys.every((key) => !text.includes(key) && !text.includes(key.slice(-4)));

/** 20 ms of a voiced vowel at 16 kHz (150 Hz and its harmonics), the `n`th frame of it. */
export function vowel(n: number): Int16Array {
  const pcm = new Int16Array(320);
  for (let i = 0; i < 320; i++) {
    const t = (n * 320 + i) / 16_000;
    let v = 0;
    for (let k = 1; k <= 10; k++) v += Math.sin(2 * Math.PI * 150 * k * t) / k;
    pcm[i] = Math.round(5000 * v);
  }
  return pcm;
}

/**
 * The engine host of a leg: the voice records what it is given and marks play at once; turns are kept (and logged as
 * `role:text`), a clear, a hang-up, a transfer, DTMF and an error logged in `events`, in order.
 */
export function recordingHost() {
  const events: string[] = [];
  const pushed: Int16Array[] = [];
  const turns: TranscriptTurn[] = [];
  const host: EngineHost = {
    voice: {
      push: (pcm) => pushed.push(pcm),
      mark: (onPlayed) => setImmediate(() => onPlayed(false)),
      clear: () => events.push('clear'),
      playing: true,
    },
    stats: { fromSfu: 0, toSfu: 0, toBot: 0, fromBot: 0, dropped: 0, bargeIns: 0, speaking: false },
    turn: (t) => {
      turns.push(t);
      events.push(`${t.role}:${t.text}`);
    },
    hangup: (reason) => events.push(`hangup:${reason}`),
    transfer: (to) => events.push(`transfer:${to}`),
    sendDtmf: (digits) => events.push(`dtmf:${digits}`),
    error: (message) => events.push(`error:${message}`),
  };
  return { host, events, pushed, turns };
}
