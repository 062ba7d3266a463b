// Presence: which node holds which widget session (kept in Redis, mirrored into every node's SessionRegistry so rings and
// busy checks see the whole cluster), and on which node each local session's media lives (the node owning its call).
import type { Principal } from '../auth/principal.js';
import type { Session, SessionRegistry } from '../calls/sessions.js';
import type { ClusterBus } from './bus.js';

interface SessionEntry {
  id: string;
  principal: Omit<Principal, 'expiresAt'> & { expiresAt?: string };
  dnd: boolean;
}
type PresenceMessage = { op: 'up'; session: SessionEntry } | { op: 'down'; id: string };

const sessionsKey = (nodeId: string) => `astral:sessions:${nodeId}`;
const TOPIC = 'presence';

const entryOf = (s: Session): SessionEntry => ({ id: s.id, dnd: s.dnd, principal: { ...s.principal, expiresAt: s.principal.expiresAt?.toISOString() } });
const sessionOf = (e: SessionEntry): Session => ({
  id: e.id,
  dnd: e.dnd,
  principal: { ...e.principal, ...(e.principal.expiresAt ? { expiresAt: new Date(e.principal.expiresAt) } : { expiresAt: undefined }) } as Principal,
});

export class Presence {
  /** Sessions held by other nodes, with their node. */
  private readonly homes = new Map<string, string>();
  /** Local sessions whose media lives on another node, and the call that put it there (null: not known yet). */
  private readonly placed = new Map<string, { nodeId: string; callId: string | null }>();

  constructor(
    private readonly bus: ClusterBus,
    private readonly sessions: SessionRegistry,
    /** A remote session is gone (its widget disconnected, or its node was lost). */
    private readonly remoteClosed: (sessionId: string) => void,
  ) {}

  private get nodeId(): string {
    return this.bus.nodeId;
  }

  /** Starts mirroring: live updates first, then what the other nodes already hold. */
  async start(nodeIds: string[]): Promise<void> {
    this.bus.listen<PresenceMessage>(TOPIC, (msg, from) => (msg.op === 'up' ? this.addRemote(sessionOf(msg.session), from) : this.removeRemote(msg.id)));
    await this.bus.redis.del(sessionsKey(this.nodeId));
    for (const nodeId of nodeIds) {
      if (nodeId === this.nodeId) continue;
      const entries = await this.bus.redis.hvals(sessionsKey(nodeId));
      for (const raw of entries) this.addRemote(sessionOf(JSON.parse(raw) as SessionEntry), nodeId);
    }
  }

  /** A local session opened or changed (do-not-disturb). */
  up(session: Session): void {
    const entry = entryOf(session);
    this.bus.redis.hset(sessionsKey(this.nodeId), session.id, JSON.stringify(entry)).catch(() => undefined);
    this.bus.broadcast(TOPIC, { op: 'up', session: entry } satisfies PresenceMessage);
  }

  /** A local session closed. */
  down(sessionId: string): void {
    this.placed.delete(sessionId);
    this.bus.redis.hdel(sessionsKey(this.nodeId), sessionId).catch(() => undefined);
    this.bus.broadcast(TOPIC, { op: 'down', id: sessionId } satisfies PresenceMessage);
  }

  /** The node holding a session's socket (this node for local ones and unknown ids). */
  homeOf(sessionId: string): string {
    return this.homes.get(sessionId) ?? this.nodeId;
  }

  /** The node a local session's media lives on. */
  mediaNodeOf(sessionId: string): string {
    return this.placed.get(sessionId)?.nodeId ?? this.nodeId;
  }

  /** Sessions connected to this node: the registry's, less those mirrored from other nodes. */
  get localCount(): number {
    return this.sessions.size - this.homes.size;
  }

  /** The call that last put a local session's media on another node (null: none, or not known yet). */
  callOf(sessionId: string): string | null {
    return this.placed.get(sessionId)?.callId ?? null;
  }

  /** Records where a local session's media lives now (its call, when known). */
  place(sessionId: string, nodeId: string, callId: string | null): void {
    if (nodeId === this.nodeId) this.placed.delete(sessionId);
    else this.placed.set(sessionId, { nodeId, callId });
  }

  /** Local sessions whose media is on `nodeId`, with their call. */
  placedOn(nodeId: string): { sessionId: string; callId: string | null }[] {
    return [...this.placed].filter(([, p]) => p.nodeId === nodeId).map(([sessionId, p]) => ({ sessionId, callId: p.callId }));
  }

  /** Sessions of nodes no longer live leave the mirror (a lost node's after its calls were closed, or one that left). */
  prune(liveIds: Set<string>): void {
    for (const [sessionId, nodeId] of [...this.homes]) if (!liveIds.has(nodeId)) this.removeRemote(sessionId);
  }

  /** Forgets what a lost node held in Redis. */
  async forgetNode(nodeId: string): Promise<void> {
    await this.bus.redis.del(sessionsKey(nodeId));
  }

  /** Leaves on shutdown. */
  async leave(): Promise<void> {
    await this.bus.redis.del(sessionsKey(this.nodeId));
  }

  private addRemote(session: Session, nodeId: string): void {
    const existing = this.sessions.get(session.id);
    if (existing && this.homes.has(session.id)) {
      existing.dnd = session.dnd;
      existing.principal = session.principal;
      return;
    }
    this.homes.set(session.id, nodeId);
    this.sessions.add(session);
  }

  private removeRemote(sessionId: string): void {
    if (!this.homes.delete(sessionId)) return;
    this.sessions.remove(sessionId);
    this.remoteClosed(sessionId);
  }
}
