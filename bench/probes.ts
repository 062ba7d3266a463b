// In-page probes: functions evaluated inside a phone page that time dialing, ringing, answering and first inbound audio.
import type { Page } from 'playwright-core';

/** The slice of the element's client that the probes use. */
interface ProbeClient {
  state: string;
  remoteStream: MediaStream | null;
  on(name: string, listener: (detail: Record<string, unknown>) => void): () => void;
  call(destination: string): Promise<string>;
  answer(): Promise<void>;
  getStats(): Promise<{ packetsReceived: number }>;
}

/** A moment seen in one page: performance.now() (same-page deltas) and Date.now() (cross-page deltas). */
export interface Mark {
  perf: number;
  wall: number;
}

/** First-media moments of one call on one side. */
export interface MediaMarks {
  /** The recv transport applied a remote offer: the server's media:consume for this call arrived. */
  offer?: Mark;
  /** An RTCRtpReceiver of the remote stream reports a synchronization source (a frame was delivered). */
  frame?: Mark;
  /** client.getStats() first reports inbound packetsReceived > 0. */
  stats?: Mark;
}

/** Per-page scratch space the probes write into; replaced per call so stale pollers stop. */
interface BenchScratch {
  incomingWall?: number;
  media?: MediaMarks;
  stop?: boolean;
}

type ProbeWindow = Window & {
  astralBench: BenchScratch;
  astralBenchPcs: Set<RTCPeerConnection>;
  astralBenchOnOffer?: () => void;
};

/** ms between polls while waiting for the first inbound audio. */
export const POLL_MS = 5;

export interface DialResult {
  /** Date.now() in the caller page just before call(). */
  wall0: number;
  /** performance.now() delta from call() to the client's 'ringing' state, or null. */
  ringMs: number | null;
  /** performance.now() delta from call() to its promise settling (the dial ack). */
  ackMs: number | null;
  callId: string | null;
  error: string | null;
}

export interface AnswerResult {
  /** The moment answer() was invoked in the callee page. */
  at: Mark;
  error: string | null;
}

/**
 * Once per page: a no-op `__name` (tsx compiles with keepNames, and functions serialised into the page may
 * reference it), and a wrapper on RTCPeerConnection.prototype.setRemoteDescription that collects the
 * widget's peer connections (so the probes can reach their RTCRtpReceivers) and flags remote offers
 * (mediasoup-client's recv transport applies one per consumer).
 */
export async function preparePage(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    globalThis.__name = globalThis.__name || ((f) => f);
    window.astralBench = {};
    window.astralBenchPcs = new Set();
    const proto = RTCPeerConnection.prototype;
    const original = proto.setRemoteDescription;
    proto.setRemoteDescription = function (description, ...rest) {
      window.astralBenchPcs.add(this);
      if (description && description.type === 'offer') window.astralBenchOnOffer?.();
      return original.call(this, description, ...rest);
    };
  })()`);
}

/** Callee: forget the previous call's marks and record Date.now() when the client emits 'incoming'. */
export function armIncoming(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as ProbeWindow;
    const client = (document.getElementById('phone') as unknown as { client: ProbeClient }).client;
    const scratch: BenchScratch = {};
    w.astralBench = scratch;
    const off = client.on('incoming', () => {
      scratch.incomingWall = Date.now();
      off();
    });
  });
}

/** Caller: call(destination) and time it to 'ringing' (listener installed first) and to the dial ack. */
export function dial(page: Page, destination: string, timeoutMs: number): Promise<DialResult> {
  return page.evaluate(
    async ([destination, timeoutMs]) => {
      const client = (document.getElementById('phone') as unknown as { client: ProbeClient }).client;
      const result: DialResult = { wall0: 0, ringMs: null, ackMs: null, callId: null, error: null };
      let t0 = 0;
      let rang: (() => void) | null = null;
      const ringing = new Promise<void>((resolve) => (rang = resolve));
      const off = client.on('state', (detail) => {
        if (detail.state === 'ringing' && result.ringMs === null) {
          result.ringMs = performance.now() - t0;
          rang?.();
        }
      });
      result.wall0 = Date.now();
      t0 = performance.now();
      try {
        result.callId = await client.call(destination);
        result.ackMs = performance.now() - t0;
      } catch (err) {
        result.error = `call() rejected: ${String((err as Error).message ?? err)}`;
      }
      if (!result.error) await Promise.race([ringing, new Promise((r) => setTimeout(r, timeoutMs))]);
      off();
      if (!result.error && result.ringMs === null) result.error = `no 'ringing' within ${timeoutMs} ms (state ${client.state})`;
      return result;
    },
    [destination, timeoutMs] as const,
  );
}

/**
 * Resets the page's marks and watches, in the background, for this call's first inbound audio three ways:
 * the consume offer, the first delivered frame (RTCRtpReceiver.getSynchronizationSources(), synchronous and
 * uncached) and the first getStats() with packetsReceived > 0 (Chromium caches stats for ~50 ms).
 */
export function armMedia(page: Page, timeoutMs: number): Promise<void> {
  return page.evaluate(
    ([pollMs, timeoutMs]) => {
      const w = window as unknown as ProbeWindow;
      const client = (document.getElementById('phone') as unknown as { client: ProbeClient }).client;
      const deadline = performance.now() + timeoutMs;
      const marks: MediaMarks = {};
      const scratch: BenchScratch = { media: marks };
      w.astralBench = scratch;
      const now = (): Mark => ({ perf: performance.now(), wall: Date.now() });
      const live = () => w.astralBench === scratch && !scratch.stop && performance.now() < deadline;
      const sleep = () => new Promise((r) => setTimeout(r, pollMs));
      w.astralBenchOnOffer = () => void (marks.offer ??= now());
      void (async () => {
        while (live() && !marks.frame) {
          const tracks = client.remoteStream?.getTracks() ?? [];
          for (const pc of w.astralBenchPcs) {
            for (const receiver of pc.getReceivers()) {
              if (!marks.frame && tracks.includes(receiver.track) && receiver.getSynchronizationSources().length > 0) marks.frame = now();
            }
          }
          if (!marks.frame) await sleep();
        }
      })();
      void (async () => {
        while (live() && !marks.stats) {
          const stats = await client.getStats().catch(() => null);
          if (stats && stats.packetsReceived > 0) marks.stats = now();
          else await sleep();
        }
      })();
    },
    [POLL_MS, timeoutMs] as const,
  );
}

/** Callee: invoke answer() and wait for its acknowledgement. */
export function answer(page: Page): Promise<AnswerResult> {
  return page.evaluate(async () => {
    const client = (document.getElementById('phone') as unknown as { client: ProbeClient }).client;
    const result: AnswerResult = { at: { perf: performance.now(), wall: Date.now() }, error: null };
    await client.answer().catch((err: unknown) => {
      result.error = `answer() rejected: ${String((err as Error).message ?? err)}`;
    });
    return result;
  });
}

/** Waits (up to timeoutMs) for the Date.now() the 'incoming' listener records; null on timeout. */
export async function waitIncoming(page: Page, timeoutMs: number): Promise<number | null> {
  const handle = await page
    .waitForFunction(() => (window as unknown as ProbeWindow).astralBench.incomingWall ?? false, undefined, { timeout: timeoutMs, polling: 5 })
    .catch(() => null);
  return handle ? ((await handle.jsonValue()) as number) : null;
}

/** Waits (up to timeoutMs) for both first-audio marks, then returns whatever marks were recorded. */
export async function waitMedia(page: Page, timeoutMs: number): Promise<MediaMarks> {
  await page
    .waitForFunction(() => {
      const m = (window as unknown as ProbeWindow).astralBench.media;
      return Boolean(m?.frame && m.stats);
    }, undefined, { timeout: timeoutMs, polling: 5 })
    .catch(() => undefined);
  return page.evaluate(() => ({ ...(window as unknown as ProbeWindow).astralBench.media }));
}

/** Stops any background poller on the page. */
export function stopPolling(page: Page): Promise<void> {
  return page.evaluate(() => {
    (window as unknown as ProbeWindow).astralBench.stop = true;
  });
}

/** Baseline: time for call() of an unknown destination to reject (one signaling round trip + DB lookup). */
export function rejectRoundTrip(page: Page, destination: string): Promise<{ ms: number; error: string | null }> {
  return page.evaluate(async (destination) => {
    const client = (document.getElementById('phone') as unknown as { client: ProbeClient }).client;
    const t0 = performance.now();
    try {
      await client.call(destination);
      return { ms: performance.now() - t0, error: `call(${destination}) unexpectedly resolved` };
    } catch (err) {
      const ms = performance.now() - t0;
      const message = String((err as Error).message ?? err);
      return { ms, error: /no user or extension/.test(message) ? null : `unexpected rejection: ${message}` };
    }
  }, destination);
}
