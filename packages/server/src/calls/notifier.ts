// The port through which call control reaches parties' sessions: the socket.io gateway for widgets, the SIP gateway for
// trunk legs, the agent gateway for AI agents.
import type { Ack, GatewayDispatch, ServerToClientEvents } from '@astral/protocol';
import { isAgentSession, isSipSession } from './legs.js';

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

/** Sends each session's events to the transport that carries it: SIP legs and agents to their gateways, the rest to the widgets'. */
export class PartyNotifier implements SessionNotifier {
  sip: SessionNotifier | null = null;
  agents: SessionNotifier | null = null;

  constructor(private readonly widgets: SessionNotifier) {}

  private of(sessionId: string): SessionNotifier | null {
    if (isSipSession(sessionId)) return this.sip;
    return isAgentSession(sessionId) ? this.agents : this.widgets;
  }

  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Params<E>[0]): void {
    this.of(sessionId)?.notify(sessionId, event, payload);
  }

  dispatch<E extends keyof GatewayDispatch>(principalIds: string[], event: E, payload: GatewayDispatch[E]): void {
    this.widgets.dispatch(principalIds, event, payload);
  }

  request<E extends 'media:consume' | 'call:incoming'>(sessionId: string, event: E, payload: Params<E>[0], timeoutMs: number): Promise<Ack<Record<string, never>>> {
    const to = this.of(sessionId);
    if (!to) return Promise.reject(new Error(`no transport for session ${sessionId}`));
    return to.request(sessionId, event, payload, timeoutMs);
  }
}
