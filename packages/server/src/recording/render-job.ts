// Rendering a recording off the main thread: a render worker per download streams the WAV, a chunk each time the reader wants more.
import { Readable } from 'node:stream';
import { startWorker } from '../util/worker.js';

export type RenderCommand = { type: 'render'; path: string } | { type: 'pull' };
export type RenderEvent =
  | { type: 'head'; bytes: number; threadId: number }
  | { type: 'chunk'; data: Uint8Array; last: boolean }
  | { type: 'error'; message: string };

export interface Rendering {
  /** The WAV's size, known before any audio is decoded. */
  bytes: number;
  /** The worker thread that decodes it (worker_threads' threadId). */
  threadId: number;
  /** The WAV; destroying it stops the render. */
  stream: Readable;
}

/** Starts rendering the frame log at `path`; rejects when it is not a readable recording. */
export function renderRecording(path: string): Promise<Rendering> {
  const worker = startWorker(new URL('./render-worker.ts', import.meta.url));
  worker.unref();
  const send = (command: RenderCommand) => worker.postMessage(command);
  return new Promise((resolve, reject) => {
    let stream: Readable | null = null;
    let over = false;
    const fail = (err: Error) => {
      if (over) return;
      over = true;
      if (stream) stream.destroy(err);
      else reject(err);
      void worker.terminate();
    };
    worker.on('message', (event: RenderEvent) => {
      if (event.type === 'head') {
        stream = new Readable({
          read: () => send({ type: 'pull' }),
          destroy: (err, done) => {
            over = true;
            void worker.terminate();
            done(err);
          },
        });
        resolve({ bytes: event.bytes, threadId: event.threadId, stream });
      } else if (event.type === 'chunk') {
        stream!.push(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength));
        if (!event.last) return;
        over = true;
        stream!.push(null);
        void worker.terminate();
      } else fail(new Error(event.message));
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the render worker exited with code ${code}`)));
    send({ type: 'render', path });
  });
}
