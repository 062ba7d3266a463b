// The port through which call control reaches widget sessions; the gateway implements it over socket.io.
import type { Ack, ServerToClientEvents } from '@astral/protocol';

type Params<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>;

export interface SessionNotifier {
  /** Fire-and-forget event to one session. */
  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Params<E>[0]): void;
  /** Event that the session acknowledges; rejects on timeout or a dropped connection. */
  request<E extends 'media:consume' | 'call:incoming'>(
    sessionId: string,
    event: E,
    payload: Params<E>[0],
    timeoutMs: number,
  ): Promise<Ack<Record<string, never>>>;
}
