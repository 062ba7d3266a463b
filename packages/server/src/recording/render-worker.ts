// Recording render worker thread: renders one frame log (recording/render) and hands its WAV over a chunk per pull, so the main loop never decodes.
import { parentPort, threadId } from 'node:worker_threads';
import type { RenderCommand, RenderEvent } from './render-job.js';
import { renderWav } from './render.js';

const port = parentPort!;
const emit = (event: RenderEvent, transfer: ArrayBuffer[] = []) => port.postMessage(event, transfer);
let chunks: Generator<Buffer> | null = null;
/** The chunk after the one handed over, so the last one goes out marked as such and the stream ends with its last byte. */
let ahead: IteratorResult<Buffer> | null = null;

port.on('message', (command: RenderCommand) => {
  try {
    if (command.type === 'render') {
      const rendering = renderWav(command.path);
      chunks = rendering.chunks;
      ahead = chunks.next();
      emit({ type: 'head', bytes: rendering.bytes, threadId });
      return;
    }
    if (!ahead || ahead.done) return; // a pull after the last chunk
    // A chunk of its own to transfer: a Buffer may be a view of a larger (or pooled) ArrayBuffer that must stay usable here.
    const chunk = new Uint8Array(ahead.value);
    ahead = chunks!.next();
    emit({ type: 'chunk', data: chunk, last: ahead.done === true }, [chunk.buffer]);
  } catch (err) {
    emit({ type: 'error', message: (err as Error).message });
  }
});
