// Worker threads: starting a worker module (TypeScript under tsx in development) and naming the OS thread it runs as.
import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Runs a worker module; under tsx (development) the worker registers tsx's loader first, since preloads do not reach it. */
export function startWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
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
