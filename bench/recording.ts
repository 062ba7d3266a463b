// Recording render benchmark: 10- and 60-minute frame logs (two Opus tracks, 50 packets/s) rendered through the render worker,
// with render time, peak extra RSS of the process and the main event loop's lag while it streams.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import OpusScript from 'opusscript';
import { FrameLogWriter } from '../packages/server/src/recording/frame-log.js';
import { renderRecording } from '../packages/server/src/recording/render-job.js';
import { mib } from './proc-stats.js';
import { row } from './stats.js';

export const RENDER_MEMORY_TARGET_MB = 100;
export const RENDER_LAG_TARGET_MS = 20;
const RATE = 48_000;

/** One second of a tone as 50 Opus packets, repeated for the whole log. */
function toneSecond(hz: number): Buffer[] {
  const encoder = new OpusScript(RATE, 1, OpusScript.Application.VOIP);
  const frames: Buffer[] = [];
  for (let f = 0; f < 50; f++) {
    const pcm = Buffer.alloc(960 * 2);
    for (let i = 0; i < 960; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * 960 + i)) / RATE)), 2 * i);
    frames.push(Buffer.from(encoder.encode(pcm, 960)));
  }
  encoder.delete();
  return frames;
}

async function writeLog(path: string, minutes: number): Promise<void> {
  const [caller, callee] = [toneSecond(440), toneSecond(1000)];
  const writer = new FrameLogWriter(path, (err) => {
    throw err;
  });
  for (let f = 0; f < minutes * 60 * 50; f++) {
    writer.append(0, f * 960, caller[f % 50]!);
    writer.append(1, 5_000 + f * 960, callee[f % 50]!);
    if (f % 5_000 === 0) await new Promise((r) => setImmediate(r));
  }
  await writer.close();
}

export interface RenderFigures {
  minutes: number;
  seconds: number;
  extraRssBytes: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/** Renders one synthetic log through the worker, discarding the WAV as a client would download it. */
async function renderOnce(path: string, minutes: number): Promise<RenderFigures> {
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const started = performance.now();
  const rendering = await renderRecording(path);
  let received = 0;
  await pipeline(rendering.stream, new Writable({ write: (chunk: Buffer, _enc, done) => ((received += chunk.length), done()) }));
  const seconds = (performance.now() - started) / 1000;
  lag.disable();
  clearInterval(sampler);
  if (received !== rendering.bytes) throw new Error(`rendered ${received} bytes of ${rendering.bytes}`);
  return { minutes, seconds, extraRssBytes: peak - baseline, lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 };
}

/** The main loop's lag over `ms` with nothing rendering: what this machine adds on its own. */
async function idleLagP99(ms: number): Promise<number> {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  await new Promise((r) => setTimeout(r, ms));
  lag.disable();
  return lag.percentile(99) / 1e6;
}

/** The recording render section: prints a row per length and returns the figures. */
export async function runRecordingRender(out: (line?: string) => void, lengths: readonly number[] = [10, 60]): Promise<RenderFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'astral-bench-recording-'));
  const figures: RenderFigures[] = [];
  try {
    out(`Recording render (two Opus tracks, 50 packets/s each; targets < ${RENDER_MEMORY_TARGET_MB} MB extra RSS, < ${RENDER_LAG_TARGET_MS} ms event-loop lag)`);
    out(row('  main loop lag p99 with nothing rendering', `${(await idleLagP99(2_000)).toFixed(1)} ms`));
    for (const minutes of lengths) {
      const path = join(dir, `${minutes}.rec`);
      await writeLog(path, minutes);
      const f = await renderOnce(path, minutes);
      figures.push(f);
      const log = mib(statSync(path).size);
      out(row(`  ${minutes}-minute recording (${log} log)`, `render ${f.seconds.toFixed(1)} s   peak extra RSS ${mib(f.extraRssBytes)}   loop lag p99 ${f.lagP99Ms.toFixed(1)} ms, max ${f.lagMaxMs.toFixed(1)} ms`));
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
