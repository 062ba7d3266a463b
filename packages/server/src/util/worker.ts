// Worker threads: starting a worker module (compiled JavaScript, or TypeScript under tsx in development) and naming the OS thread it runs as.
import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** True when this module runs from the compiled build (packages/server/dist), false under tsx. */
const compiled = import.meta.url.endsWith('.js');

/**
 * Runs a worker module named by its TypeScript source (`new URL('./x-worker.ts', import.meta.url)`): the compiled build
 * starts its `.js` sibling with plain node; under tsx (development) the worker registers tsx's loader first, since preloads do not reach it.
 */
export function startWorker(url: URL): Worker {
  if (compiled) return new Worker(new URL(url.href.replace(/\.ts$/, '.js')));
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`, { eval: true });
}

/** The calling thread's OS thread id (Linux: /proc/thread-self → <pid>/task/<tid>), so operators can find it in `top -H`. */
export function osThreadId(): number | null {
  try {
    return Number(/task\/([0-9]+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]) || null;
  } catch {
    return null;
  }
}
