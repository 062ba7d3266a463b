// Call recording: every answered call (unless turned off) taps each party's audio into a frame log under the data dir,
// written by the recording ingest worker (off the main loop); a write error (full, read-only or missing dir) or the
// worker's death stops that call's recording, logged, and the call goes on.
import type { FastifyBaseLogger } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MediaService } from '../media/service.js';
import type { Tap } from '../media/tap.js';
import { RecordingIngest, type LogWriteError } from '../recording/ingest.js';
import { logHoldsFrames } from '../recording/frame-log.js';
import type { Store } from '../store/index.js';
import type { Call } from './call.js';
import type { SessionNotifier } from './notifier.js';

interface Active {
  ingest: RecordingIngest;
  /** The call record's note of its recording path (a failed recording's note is undone after it). */
  noted: Promise<void>;
  taps: Map<string, Tap | null>;
  /** Settles once every tap asked for so far is open or failed: what `tapped` waits for. */
  tapsOpened: Promise<unknown>;
  /** Sessions already shown the recording indicator. */
  told: Set<string>;
}

export class Recordings {
  private readonly active = new Map<string, Active>();
  /** Calls whose recording failed, not retried until they end. */
  private readonly broken = new Set<string>();
  /** Writes every frame log; started with the server (a first call's opening words are not lost to its start-up), again after it died. */
  private ingest: RecordingIngest | null = null;

  constructor(
    private readonly deps: { media: MediaService; store: Store; notifier: SessionNotifier; log: FastifyBaseLogger; dir: string; enabled: boolean },
  ) {
    try {
      mkdirSync(deps.dir, { recursive: true });
    } catch (err) {
      deps.log.error({ err, dir: deps.dir }, 'cannot create the recordings directory; recordings will fail');
    }
    if (deps.enabled) this.ingest = this.startIngest();
  }

  /** Recordings being written now. */
  get activeCount(): number {
    return this.active.size;
  }

  pathOf(callId: string): string {
    return join(this.deps.dir, `${callId}.rec`);
  }

  /** Taps every producer of the call's joined parties not yet recorded; starts the recording at the first answer. */
  sync(call: Call): void {
    if (!this.deps.enabled || !call.record || !call.answeredAt || call.state === 'ended' || this.broken.has(call.id)) return;
    let rec = this.active.get(call.id);
    if (!rec) {
      const path = this.pathOf(call.id);
      const ingest = (this.ingest ??= this.startIngest());
      ingest.openLog(call.id, path);
      rec = { ingest, noted: call.stored.then(() => this.deps.store.calls.setRecordingPath(call.id, path)), taps: new Map(), tapsOpened: Promise.resolve(), told: new Set() };
      this.active.set(call.id, rec);
      this.persist(call.id, rec.noted);
    }
    for (const sessionId of call.joined.keys()) {
      if (!rec.told.has(sessionId)) {
        rec.told.add(sessionId);
        this.deps.notifier.notify(sessionId, 'call:recording', { callId: call.id, recording: true });
      }
      for (const producerId of this.deps.media.producersOf(sessionId, call.id)) {
        if (rec.taps.has(producerId)) continue;
        const track = rec.taps.size;
        rec.taps.set(producerId, null);
        const { ingest } = rec;
        const codec = this.deps.media.codecOf(producerId);
        const opening = this.deps.media
          .tap(producerId, (payloadType) => ingest.openTrack(call.id, track, codec, payloadType))
          .then((tap) => {
            if (this.active.get(call.id) === rec && tap) rec.taps.set(producerId, tap);
            else tap?.close();
          })
          .catch((err: unknown) => this.deps.log.warn({ err, callId: call.id }, 'could not tap audio for recording'));
        rec.tapsOpened = Promise.all([rec.tapsOpened, opening]);
      }
    }
  }

  /**
   * Resolves once the recording hears every producer it has been asked to tap so far (at once when the call is not recorded),
   * so a party the server speaks for (an agent's greeting) starts after the recording does, as a PBX starts its recorder
   * before the first prompt. A tap that fails resolves it too: the call never waits on its recording.
   */
  async tapped(callId: string): Promise<void> {
    await this.active.get(callId)?.tapsOpened;
  }

  /** Stops the call's recording; resolves once its frame log is flushed and closed. */
  async stop(call: Call): Promise<void> {
    this.broken.delete(call.id);
    const rec = this.active.get(call.id);
    if (!rec) return;
    this.active.delete(call.id);
    for (const tap of rec.taps.values()) tap?.close();
    await rec.ingest.closeLog(call.id);
  }

  /** Flushes and closes every frame log still open, then stops the ingest worker (server shutdown). */
  async close(): Promise<void> {
    const open = [...this.active];
    this.active.clear();
    for (const [, rec] of open) for (const tap of rec.taps.values()) tap?.close();
    await Promise.all(open.map(([callId, rec]) => rec.ingest.closeLog(callId)));
    const ingest = this.ingest;
    this.ingest = null;
    await ingest?.terminate();
  }

  private startIngest(): RecordingIngest {
    const ingest = RecordingIngest.start();
    ingest.once('ready', (threadId: number | null) => this.deps.log.info({ threadId }, 'the recording ingest worker is running'));
    ingest.on('failed', (callId: string, err: LogWriteError) => {
      this.deps.log.error({ err, callId, path: this.pathOf(callId) }, 'recording stopped: cannot write its frame log');
      this.stopped(callId, ingest, err.holdsFrames);
    });
    ingest.once('exit', (err: Error) => {
      if (this.ingest === ingest) this.ingest = null;
      for (const [callId, rec] of [...this.active]) {
        if (rec.ingest !== ingest) continue;
        this.deps.log.error({ err, callId }, 'recording stopped: the recording ingest worker died');
        this.stopped(callId, ingest, this.holdsFrames(callId));
      }
    });
    return ingest;
  }

  /** The recording cannot go on: it stops, the call goes on, and a recording with nothing in it is unlisted. */
  private stopped(callId: string, ingest: RecordingIngest, holdsFrames: boolean): void {
    const rec = this.active.get(callId);
    if (rec?.ingest !== ingest) return;
    this.active.delete(callId);
    this.broken.add(callId);
    for (const tap of rec.taps.values()) tap?.close();
    if (!holdsFrames) this.persist(callId, rec.noted.then(() => this.deps.store.calls.setRecordingPath(callId, null)));
  }

  private holdsFrames(callId: string): boolean {
    return logHoldsFrames(this.pathOf(callId));
  }

  private persist(callId: string, write: Promise<void>): void {
    write.catch((err: unknown) => this.deps.log.error({ err, callId }, 'could not note the recording'));
  }
}
