// The port through which call control reaches widget sessions; the gateway implements it over socket.io.
import type { Ack, GatewayDispatch, ServerToClientEvents } from '@astral/protocol';

type Params<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>;

export interface SessionNotifier {
  /** Fire-and-forget event to one session. */
  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Params<E>[0]): void;
  /** A gateway dispatch event to every connection of these users and bots. */
  dispatch<E extends keyof GatewayDispatch>(principalIds: string[], event: E, payload: GatewayDispatch[E]): void;
  /** Event that the session acknowledges; rejects on timeout or a dropped connection. */
  request<E extends 'media:consume' | 'call:incoming'>(
    sessionId: string,
    event: E,
    payload: Params<E>[0],
    timeoutMs: number,
  ): Promise<Ack<Record<string, never>>>;
}
