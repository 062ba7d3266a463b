// Prometheus collectors (prom-client, one registry per server): read at scrape time from call control, sessions, the
// mediasoup workers, recordings and the webhook queue; rings and HTTP requests are observed as they happen.
import type { types } from 'mediasoup';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Call } from './calls/call.js';
import type { RingOutcome } from './calls/ringing.js';

type Count = Record<'ringing' | 'answered', number>;

/** What the collectors read; each is a live view owned by its module. */
export interface MetricSources {
  calls: { census(): { calls: Count; legs: Count } };
  sessions: { readonly localSize: number };
  workers: () => { index: number; worker: types.Worker; router: types.Router }[];
  producers: () => Iterable<{ readonly producer: types.Producer; readonly router: types.Router }>;
  recordings: { readonly activeCount: number };
  webhooks: { pendingCount(): Promise<number> };
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RING_BUCKETS = [0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 120];
/** At most this many producers per worker are asked for their stats in one scrape (each ask is a request to the worker). */
export const PRODUCERS_MEASURED_PER_WORKER = 50;

/** One received RTP stream of a producer, as the scrape saw it. */
interface StreamQuality {
  score: number;
  fractionLost: number;
  jitterSeconds: number;
}

/** Up to `n` of `items`, picked at random when there are more (a partial Fisher-Yates shuffle). */
function pick<T>(items: T[], n: number): T[] {
  for (let i = 0; i < Math.min(n, items.length - 1); i++) {
    const j = i + Math.floor(Math.random() * (items.length - i));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items.slice(0, n);
}

/** The received streams of (a bounded sample of) each live worker's producers, by worker index. */
async function producerQuality(s: MetricSources): Promise<Map<number, StreamQuality[]>> {
  const workerOf = new Map(s.workers().map((w) => [w.router.id, w.index]));
  const byWorker = new Map<number, types.Producer[]>();
  for (const { producer, router } of s.producers()) {
    const index = workerOf.get(router.id);
    if (index === undefined || producer.closed) continue;
    const list = byWorker.get(index) ?? [];
    list.push(producer);
    byWorker.set(index, list);
  }
  const measured = await Promise.all(
    [...byWorker].map(async ([index, producers]) => {
      const streams = await Promise.all(
        pick(producers, PRODUCERS_MEASURED_PER_WORKER).map(async (producer) => {
          const clockRate = producer.rtpParameters.codecs[0]?.clockRate ?? 48000;
          // A producer closing meanwhile has no stats; mediasoup's jitter is in RTP timestamp units, fractionLost in 1/256.
          const stats = await producer.getStats().catch(() => []);
          return stats.map((st) => ({ score: st.score, fractionLost: st.fractionLost / 256, jitterSeconds: st.jitter / clockRate }));
        }),
      );
      return [index, streams.flat()] as const;
    }),
  );
  return new Map(measured);
}

export class Metrics {
  readonly registry = new Registry();
  private readonly ring = new Histogram({
    name: 'astral_ring_duration_seconds',
    help: 'How long a ring lasted until it settled, by result (answered, declined, busy, no-answer, failed, cancelled)',
    labelNames: ['result'],
    buckets: RING_BUCKETS,
    registers: [this.registry],
  });
  private readonly setup = new Histogram({
    name: 'astral_call_setup_seconds',
    help: 'Time from a call starting to its first answer',
    buckets: RING_BUCKETS,
    registers: [this.registry],
  });
  private readonly http = new Histogram({
    name: 'astral_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly iceRestarts = new Counter({
    name: 'astral_ice_restarts_total',
    help: 'ICE restarts widgets asked for on their WebRTC transports (media path lost with the socket up)',
    registers: [this.registry],
  });

  constructor() {
    // Process CPU, memory, GC and event-loop lag (nodejs_eventloop_lag_seconds and its percentiles).
    collectDefaultMetrics({ register: this.registry });
  }

  /** A ring settled (the Ringer's observer). */
  readonly ringSettled = (call: Call, outcome: RingOutcome, ringMs: number): void => {
    this.ring.observe({ result: outcome.result }, ringMs / 1000);
    // The call's first answer happened during this ring: its setup time ends here (a transfer's ring is not setup).
    if (outcome.result === 'answered' && call.answeredAt && call.answeredAt.getTime() >= Date.now() - ringMs) {
      this.setup.observe((call.answeredAt.getTime() - call.startedAt.getTime()) / 1000);
    }
  };

  /** A widget restarted ICE on a transport (MediaService's observer). */
  readonly iceRestarted = (): void => this.iceRestarts.inc();

  /** An HTTP request was answered; `route` is the route's pattern (never the raw URL). */
  httpAnswered(method: string, route: string, statusCode: number, ms: number): void {
    this.http.observe({ method, route, status_code: String(statusCode) }, ms / 1000);
  }

  /** Registers the gauges read at scrape time from `sources`. */
  watch(s: MetricSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'astral_calls',
      help: 'Live calls by state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(s.calls.census().calls)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'astral_legs',
      help: 'Live call legs (channels) by state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(s.calls.census().legs)) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'astral_sessions', help: 'Sessions connected to this node (widget and bot sockets, SIP and agent legs)', registers, collect() { this.set(s.sessions.localSize); } });
    new Gauge({ name: 'astral_recordings_active', help: 'Recordings being written', registers, collect() { this.set(s.recordings.activeCount); } });
    new Gauge({
      name: 'astral_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting to be sent (the webhook queue)',
      registers,
      async collect() {
        this.set(await s.webhooks.pendingCount());
      },
    });
    new Gauge({ name: 'astral_mediasoup_workers', help: 'Live mediasoup workers', registers, collect() { this.set(s.workers().length); } });
    type Sample = [Record<string, string>, number];
    const perWorker = (name: string, help: string, labelNames: string[], read: (w: ReturnType<MetricSources['workers']>[number]) => Promise<Sample[]>) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker', ...labelNames],
        registers,
        async collect() {
          this.reset();
          for (const w of s.workers()) {
            for (const [labels, n] of await read(w).catch(() => [])) this.set({ worker: String(w.index), ...labels }, n);
          }
        },
      });
    // Producer quality: one sample of the producers' stats per scrape, shared by the gauges below (their collects run at once).
    let inFlight: Promise<Map<number, StreamQuality[]>> | null = null;
    const quality = () => (inFlight ??= producerQuality(s).finally(() => (inFlight = null)));
    const qualityGauge = (name: string, help: string, read: (q: StreamQuality) => number) =>
      new Gauge({
        name,
        help: `${help}, over the received streams of each worker's producers (stat: min, mean, max)`,
        labelNames: ['worker', 'stat'],
        registers,
        async collect() {
          this.reset();
          for (const [index, streams] of await quality()) {
            if (streams.length === 0) continue;
            const values = streams.map(read);
            const worker = String(index);
            this.set({ worker, stat: 'min' }, Math.min(...values));
            this.set({ worker, stat: 'mean' }, values.reduce((a, b) => a + b, 0) / values.length);
            this.set({ worker, stat: 'max' }, Math.max(...values));
          }
        },
      });
    qualityGauge('astral_mediasoup_producer_score', 'mediasoup score (0-10) of producer streams', (q) => q.score);
    qualityGauge('astral_mediasoup_producer_fraction_lost', 'Fraction of packets lost (0-1, last RTCP interval) of producer streams', (q) => q.fractionLost);
    qualityGauge('astral_mediasoup_producer_jitter_seconds', 'Interarrival jitter of producer streams', (q) => q.jitterSeconds);
    new Gauge({
      name: 'astral_mediasoup_producer_streams_measured',
      help: `Producer streams the quality gauges cover on each worker (at most ${PRODUCERS_MEASURED_PER_WORKER} producers per worker, picked at random, per scrape)`,
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        for (const [index, streams] of await quality()) this.set({ worker: String(index) }, streams.length);
      },
    });
    perWorker('astral_mediasoup_producers', "Producers on each worker's router", [], async (w) => [[{}, (await w.router.dump()).mapProducerIdConsumerIds.length]]);
    perWorker('astral_mediasoup_consumers', "Consumers on each worker's router", [], async (w) => [[{}, (await w.router.dump()).mapConsumerIdProducerId.length]]);
    perWorker('astral_mediasoup_worker_cpu_seconds', 'CPU time a mediasoup worker used, by mode (user, system)', ['mode'], async (w) => {
      const u = await w.worker.getResourceUsage();
      return [
        [{ mode: 'user' }, u.ru_utime / 1000],
        [{ mode: 'system' }, u.ru_stime / 1000],
      ];
    });
    perWorker('astral_mediasoup_worker_max_rss_bytes', 'Peak resident memory of a mediasoup worker', [], async (w) => [[{}, (await w.worker.getResourceUsage()).ru_maxrss * 1024]]);
  }
}
