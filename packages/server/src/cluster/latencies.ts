// SharedLatencies: the round-trip times each user's widget measured to the regions, kept in Redis so that whichever node
// starts a channel's call picks the caller's fastest region (the widget reported them to its own node).
import type { Redis } from 'ioredis';
import type { LatencyBook, RegionRtts } from '../calls/channel-calls.js';

const latencyKey = (instanceId: string, userId: string) => `astral:latency:${instanceId}:${userId}`;
/** A measurement older than this says little about the user's network now. */
const KEEP_SECONDS = 24 * 3600;

export class SharedLatencies implements LatencyBook {
  constructor(
    private readonly redis: Redis,
    private readonly onError: (err: unknown, what: string) => void,
  ) {}

  /** Stores the measurement; a Redis failure is logged, not the widget's error (its calls then start in the default region). */
  async set(instanceId: string, userId: string, rtts: RegionRtts): Promise<void> {
    try {
      await this.redis.set(latencyKey(instanceId, userId), JSON.stringify(rtts), 'EX', KEEP_SECONDS);
    } catch (err) {
      this.onError(err, 'storing region latencies');
    }
  }

  /** The user's latest measurement; none when Redis does not answer (the call then starts in the default region). */
  async get(instanceId: string, userId: string): Promise<RegionRtts | undefined> {
    try {
      const raw = await this.redis.get(latencyKey(instanceId, userId));
      return raw ? (JSON.parse(raw) as RegionRtts) : undefined;
    } catch (err) {
      this.onError(err, 'reading region latencies');
      return undefined;
    }
  }
}
