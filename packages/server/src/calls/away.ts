// Reconnect grace: a party of an answered call whose connection dropped keeps its place until it returns or time runs out.
import type { Call } from './call.js';

export class AwayParties {
  /** By `callId:sessionId` of the dropped connection: whose place it is, and when it is given up. */
  private readonly away = new Map<string, { userId: string; timer: NodeJS.Timeout }>();

  constructor(private readonly graceMs: number) {}

  /** Whether dropped parties are waited for at all (ASTRAL_RECONNECT_GRACE > 0). */
  get enabled(): boolean {
    return this.graceMs > 0;
  }

  /** Keeps the place of `sessionId` in the call; `giveUp` runs when the grace period passes without a return. */
  hold(call: Call, sessionId: string, giveUp: () => void): void {
    const key = `${call.id}:${sessionId}`;
    const timer = setTimeout(() => {
      this.away.delete(key);
      giveUp();
    }, this.graceMs);
    this.away.set(key, { userId: call.joined.get(sessionId)!.party.userId, timer });
    call.cleanups.push(() => {
      clearTimeout(timer);
      this.away.delete(key);
    });
  }

  /** The user came back: the session id its place was kept under (no longer waited for), or undefined. */
  take(callId: string, userId: string): string | undefined {
    const entry = [...this.away].find(([key, a]) => key.startsWith(`${callId}:`) && a.userId === userId);
    if (!entry) return undefined;
    const [key, { timer }] = entry;
    clearTimeout(timer);
    this.away.delete(key);
    return key.slice(callId.length + 1);
  }
}
