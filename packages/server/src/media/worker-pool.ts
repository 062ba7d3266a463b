// mediasoup worker pool: one worker per core, one router and one WebRtcServer each; replaces a worker that dies and tells
// its owner which router went.
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { FastifyBaseLogger } from 'fastify';
import { mediaCodecs } from './codecs.js';

interface Slot {
  worker: types.Worker;
  router: types.Router;
  /** Every WebRTC transport of this worker shares its one UDP and TCP port. */
  webRtcServer: types.WebRtcServer;
  /** Transports currently placed on this router, for least-loaded placement. */
  load: number;
}

/**
 * Ports: worker i's WebRtcServer takes UDP and TCP port `rtcMinPort + i`; the ports above those (to `rtcMaxPort`) are for
 * transports with a port of their own (SIP legs' RTP, recording taps, pipes).
 */
export interface WorkerPoolOptions {
  workers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  listenIp: string;
  announcedIp: string;
}

/**
 * Kernel buffers of each WebRtcServer socket: one socket carries every call of its worker, so a worker descheduled for a few
 * ms must not overflow the default ~200 KiB (the kernel caps this at net.core.rmem_max / wmem_max).
 */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class WorkerPool {
  private readonly slots: (Slot | null)[];
  private closed = false;
  /** Waiting for a worker to (re)start: a region whose only worker died waits for its replacement. */
  private spawnWaiters: (() => void)[] = [];
  /** Indexes of dead workers whose replacement is starting. */
  private readonly respawning = new Set<number>();
  /**
   * Told when a worker died, with its router (already closed, with everything on it): by then the pool no longer hands
   * it out, so media rebuilt from here lands on a live worker. Its replacement is starting meanwhile.
   */
  onRouterDied: (router: types.Router) => void = () => undefined;

  private constructor(
    private readonly options: WorkerPoolOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.slots = new Array<Slot | null>(options.workers).fill(null);
  }

  static async start(options: WorkerPoolOptions, log: FastifyBaseLogger): Promise<WorkerPool> {
    const pool = new WorkerPool(options, log);
    await Promise.all(pool.slots.map((_, i) => pool.spawn(i)));
    return pool;
  }

  private async spawn(index: number): Promise<void> {
    try {
      const { min, max } = this.transportPorts;
      const worker = await mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: min, rtcMaxPort: max });
      const { listenIp: ip, announcedIp: announcedAddress, rtcMinPort } = this.options;
      const port = rtcMinPort + index;
      const [webRtcServer, router] = await Promise.all([
        worker.createWebRtcServer({
          listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({ protocol, ip, announcedAddress, port, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES })),
        }),
        worker.createRouter({ mediaCodecs }),
      ]).catch((err: unknown) => {
        worker.close();
        throw err;
      });
      this.slots[index] = { worker, router, webRtcServer, load: 0 };
      worker.on('died', (error) => {
        this.slots[index] = null;
        if (this.closed) return;
        this.log.error({ err: error, pid: worker.pid, worker: index }, 'mediasoup worker died; moving its media and starting a replacement');
        this.respawning.add(index);
        this.onRouterDied(router);
        this.spawn(index).then(
          () => this.log.info({ pid: this.slots[index]?.worker.pid, worker: index }, 'mediasoup worker replaced'),
          (err: unknown) => this.log.error({ err, worker: index }, 'could not replace mediasoup worker'),
        );
      });
    } finally {
      this.respawning.delete(index);
      for (const wake of this.spawnWaiters.splice(0)) wake();
    }
  }

  /** The port range left for transports with a port of their own (above the WebRtcServers' ports). */
  get transportPorts(): { min: number; max: number } {
    return { min: this.options.rtcMinPort + this.options.workers, max: this.options.rtcMaxPort };
  }

  /** The WebRtcServer of the worker that runs `router`. */
  webRtcServerOf(router: types.Router): types.WebRtcServer {
    const slot = this.slots.find((s) => s?.router === router);
    if (!slot) throw new Error('no mediasoup worker runs this router');
    return slot.webRtcServer;
  }

  /** True when every worker is alive. */
  get healthy(): boolean {
    return !this.closed && this.slots.every((s) => s !== null && !s.worker.closed && !s.worker.died);
  }

  /** Resolves once a worker among `workers` (default all) runs, or none of them is being restarted any more. */
  async available(workers?: number[]): Promise<void> {
    const restarting = () => [...this.respawning].some((i) => !workers || workers.includes(i));
    while (this.liveSlots(workers).length === 0 && restarting()) await new Promise<void>((resolve) => this.spawnWaiters.push(resolve));
  }

  /** The least-loaded router among `workers` (indexes; default all); `release` it when its transports close. */
  acquireRouter(workers?: number[]): types.Router {
    const slot = this.leastLoaded(workers);
    slot.load += 1;
    return slot.router;
  }

  /** The least-loaded router among `workers`, without counting a placement (server-side audio holds no transports). */
  peekRouter(workers?: number[]): types.Router {
    return this.leastLoaded(workers).router;
  }

  private liveSlots(workers?: number[]): Slot[] {
    return this.slots.filter((s, i): s is Slot => s !== null && !s.worker.died && (!workers || workers.includes(i)));
  }

  private leastLoaded(workers?: number[]): Slot {
    const slot = this.liveSlots(workers).reduce<Slot | undefined>((best, s) => (!best || s.load < best.load ? s : best), undefined);
    if (!slot) throw new Error('no mediasoup worker is available');
    return slot;
  }

  release(router: types.Router): void {
    const slot = this.slots.find((s) => s?.router === router);
    if (slot) slot.load = Math.max(0, slot.load - 1);
  }

  /** Each live worker with its index and router (metrics). */
  get live(): { index: number; worker: types.Worker; router: types.Router }[] {
    return this.slots.flatMap((s, index) => (s && !s.worker.died ? [{ index, worker: s.worker, router: s.router }] : []));
  }

  get routers(): types.Router[] {
    return this.slots.filter((s): s is Slot => s !== null).map((s) => s.router);
  }

  close(): void {
    this.closed = true;
    for (const slot of this.slots) slot?.worker.close();
  }
}
