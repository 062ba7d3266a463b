// RecordingIngest: the main thread's handle on the recording ingest worker thread, which receives every recorded track's RTP
// on a loopback UDP socket and appends it to its call's frame log (see ingest-worker.ts); the main loop only sends commands.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';
import { WorkerHandle } from '../util/worker-handle.js';
import type { TrackCodec } from './frame-log.js';

/** Packets a call's frame log received, and their payload bytes. */
export interface IngestLogStats {
  packets: number;
  bytes: number;
}

export type IngestCommand =
  | { type: 'log'; callId: string; path: string }
  | { type: 'track'; id: string; callId: string; track: number; codec: TrackCodec; payloadType: number }
  | { type: 'close'; callId: string };

export type IngestEvent =
  | { type: 'ready'; threadId: number | null }
  | { type: 'opened'; id: string; port: number }
  | { type: 'error'; id: string; message: string }
  | { type: 'failed'; callId: string; message: string; code: string | null; holdsFrames: boolean }
  | { type: 'closed'; callId: string }
  | { type: 'stats'; requestId: number; stats: Record<string, IngestLogStats> };

/** A frame log could not be written (full, read-only or missing dir): `code` is the system error code. */
export class LogWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    /** Something beyond the file's magic reached the disk before it failed. */
    readonly holdsFrames: boolean,
  ) {
    super(message);
  }
}

/**
 * Events: `ready` (threadId) — the worker runs, as this OS thread (null off Linux); `failed` (callId, LogWriteError) — the
 * call's frame log cannot be written (the worker dropped it and its sockets); `exit` (err) — the worker died (every log on it
 * stopped; the owner starts a new worker for the next recording).
 */
export class RecordingIngest extends WorkerHandle<IngestCommand, { port: number }, Record<string, IngestLogStats>> {
  private readonly closing = new Map<string, () => void>();
  private gone = false;

  static start(): RecordingIngest {
    return new RecordingIngest(startWorker(new URL('./ingest-worker.ts', import.meta.url)), 'recording ingest worker');
  }

  private constructor(worker: Worker, name: string) {
    super(worker, name);
    this.once('exit', () => {
      this.gone = true;
      for (const resolve of this.closing.values()) resolve();
      this.closing.clear();
    });
  }

  /** Starts the call's frame log at `path` (truncating it). */
  openLog(callId: string, path: string): void {
    this.send({ type: 'log', callId, path });
  }

  /** Declares track `track` of the call's log and binds its loopback socket; resolves to the port to send its RTP to. */
  async openTrack(callId: string, track: number, codec: TrackCodec, payloadType: number): Promise<number> {
    const id = `${callId}/${track}`;
    return (await this.openLeg(id, { type: 'track', id, callId, track, codec, payloadType })).port;
  }

  /** Closes the call's sockets, flushes and closes its log; resolves once it is on disk (or the worker is gone). */
  closeLog(callId: string): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => {
      const earlier = this.closing.get(callId);
      this.closing.set(callId, () => (earlier?.(), resolve()));
      this.send({ type: 'close', callId });
    });
  }

  protected onEvent(event: IngestEvent): void {
    switch (event.type) {
      case 'opened':
        return this.opened(event.id, { port: event.port });
      case 'error':
        this.openFailed(event.id, event.message);
        return;
      case 'failed':
        this.emit('failed', event.callId, new LogWriteError(event.message, event.code, event.holdsFrames));
        return;
      case 'closed':
        this.closing.get(event.callId)?.();
        this.closing.delete(event.callId);
        return;
      case 'stats':
        return this.statsArrived(event.requestId, event.stats);
    }
  }
}
