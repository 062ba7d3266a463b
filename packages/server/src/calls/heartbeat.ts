// The call heartbeat: one timer writes "alive now" into every live call's record, so a kill loses at most one interval.
import type { FastifyBaseLogger } from 'fastify';
import type { CallStore } from '../store/calls.js';

/** Marks the calls `liveIds()` names alive every `intervalMs` (CallStore.closeDangling ends them there after a kill); returns stop. */
export function startCallHeartbeat(store: CallStore, liveIds: () => string[], intervalMs: number, log: FastifyBaseLogger): () => void {
  const timer = setInterval(() => {
    store.heartbeat(liveIds(), new Date()).catch((err: unknown) => log.warn({ err }, 'could not write the call heartbeat'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
