// callLog: the logger for a call's lines, carrying its call id, instance id and (when known) the leg's session id (legId).
import type { FastifyBaseLogger } from 'fastify';

export function callLog(log: FastifyBaseLogger, call: { id: string; instanceId: string }, legId?: string): FastifyBaseLogger {
  return log.child({ callId: call.id, instanceId: call.instanceId, ...(legId ? { legId } : {}) });
}
