// Sessions: which widget connections each user has open (presence), and which call each user is in.
import type { PartyInfo } from '@astral/protocol';
import type { Principal } from '../auth/principal.js';

/** One gateway connection: a widget (user) or a bot. */
export interface Session {
  id: string;
  principal: Principal;
  /** Do-not-disturb: rings reach this session silently. */
  dnd: boolean;
}

export const partyOf = (s: Session): PartyInfo => s.principal.party;

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<string>>();
  add(session: Session): void {
    this.sessions.set(session.id, session);
    const set = this.byUser.get(session.principal.party.userId) ?? new Set<string>();
    set.add(session.id);
    this.byUser.set(session.principal.party.userId, set);
  }

  remove(sessionId: string): Session | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    this.sessions.delete(sessionId);
    const set = this.byUser.get(session.principal.party.userId);
    set?.delete(sessionId);
    if (set?.size === 0) this.byUser.delete(session.principal.party.userId);
    return session;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  /** Open sessions of a user (several tabs or devices ring together). */
  ofUser(userId: string): string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  /** A user rings silently when every open session of theirs is in do-not-disturb. */
  isDnd(userId: string): boolean {
    const ids = this.ofUser(userId);
    return ids.length > 0 && ids.every((id) => this.sessions.get(id)?.dnd);
  }

  /** Every session known here: this node's, and (several nodes) those presence mirrors from other nodes. */
  get size(): number {
    return this.sessions.size;
  }
}
