// Sessions: which widget connections each user has open (presence), and which call each user is in.
import type { PartyInfo } from '@astral/protocol';
import type { WidgetClaims } from '../auth/widget-tokens.js';

export interface Session {
  id: string;
  claims: WidgetClaims;
}

export const partyOf = (c: WidgetClaims): PartyInfo => ({
  userId: c.userId,
  identity: c.identity,
  displayName: c.displayName,
  extension: c.extension,
});

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<string>>();

  add(session: Session): void {
    this.sessions.set(session.id, session);
    const set = this.byUser.get(session.claims.userId) ?? new Set<string>();
    set.add(session.id);
    this.byUser.set(session.claims.userId, set);
  }

  remove(sessionId: string): Session | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    this.sessions.delete(sessionId);
    const set = this.byUser.get(session.claims.userId);
    set?.delete(sessionId);
    if (set?.size === 0) this.byUser.delete(session.claims.userId);
    return session;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  /** Open sessions of a user (several tabs or devices ring together). */
  ofUser(userId: string): string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  get size(): number {
    return this.sessions.size;
  }
}
