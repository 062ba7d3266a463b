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
  sessions: { readonly size: number };
  workers: () => { index: number; worker: types.Worker; router: types.Router }[];
  recordings: { readonly activeCount: number };
  webhooks: { pendingCount(): Promise<number> };
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RING_BUCKETS = [0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 120];

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
    new Gauge({ name: 'astral_sessions', help: 'Connected sessions (widget and bot sockets, SIP and agent legs)', registers, collect() { this.set(s.sessions.size); } });
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
