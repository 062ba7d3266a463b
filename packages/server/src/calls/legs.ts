// Call legs: each session's channel in a call, named TECH/endpoint-sequence (WebRTC/1001-0000002a, SIP/carrier-0000002b,
// Agent/akylai-0000002c);
// legs of one call share its linkedid.
import type { PartyInfo } from '@astral/protocol';
import { randomInt } from 'node:crypto';

export interface Leg {
  /** `WebRTC/<extension or identity>-<8 hex digits>`, unique while the server runs. */
  channelId: string;
  /** The call's id, shared by all its legs (the PBX "linkedid"). */
  linkedId: string;
  /** The connection this leg rides on (changes when the party reconnects). */
  sessionId: string;
  party: PartyInfo;
  startedAt: Date;
  answeredAt: Date | null;
}

/** SIP legs ride on sessions named `sip:<trunk name>:<leg id>`; their channels are `SIP/<trunk name>-<seq>`. */
export const sipSessionId = (trunkName: string, legId: string): string => `sip:${trunkName}:${legId}`;
export const isSipSession = (sessionId: string): boolean => sessionId.startsWith('sip:');

/** AI agents ride on sessions named `agent:<agent key>:<leg id>` (one per call); their channels are `Agent/<key>-<seq>`. */
export const agentSessionId = (agentKey: string, legId: string): string => `agent:${agentKey}:${legId}`;
export const isAgentSession = (sessionId: string): boolean => sessionId.startsWith('agent:');

function channelName(sessionId: string, party: PartyInfo): { tech: string; endpoint: string } {
  const sip = /^sip:([^:]+):/.exec(sessionId);
  if (sip) return { tech: 'SIP', endpoint: sip[1]! };
  const agent = /^agent:([^:]+):/.exec(sessionId);
  if (agent) return { tech: 'Agent', endpoint: agent[1]! };
  return { tech: 'WebRTC', endpoint: (party.extension ?? party.identity).replace(/[^A-Za-z0-9_.@+-]/g, '_') };
}

export class LegRegistry {
  /** Starts anywhere: channel ids stay unique across the nodes of a cluster (REST finds a leg's node by its id). */
  private sequence = randomInt(0x100000000);
  private readonly legs = new Map<string, Leg>();
  private readonly byCallSession = new Map<string, string>();

  /** The leg of a session in a call, opened on first use. */
  open(linkedId: string, sessionId: string, party: PartyInfo, at = new Date()): Leg {
    const key = `${linkedId}:${sessionId}`;
    const existing = this.byCallSession.get(key);
    if (existing) return this.legs.get(existing)!;
    this.sequence = (this.sequence + 1) % 0x100000000;
    const { tech, endpoint } = channelName(sessionId, party);
    const leg: Leg = {
      channelId: `${tech}/${endpoint}-${this.sequence.toString(16).padStart(8, '0')}`,
      linkedId,
      sessionId,
      party,
      startedAt: at,
      answeredAt: null,
    };
    this.legs.set(leg.channelId, leg);
    this.byCallSession.set(key, leg.channelId);
    return leg;
  }

  find(linkedId: string, sessionId: string): Leg | undefined {
    const id = this.byCallSession.get(`${linkedId}:${sessionId}`);
    return id ? this.legs.get(id) : undefined;
  }

  get(channelId: string): Leg | undefined {
    return this.legs.get(channelId);
  }

  /** The leg moves to the party's new connection, keeping its channel id. */
  rekey(linkedId: string, oldSession: string, newSession: string): void {
    const id = this.byCallSession.get(`${linkedId}:${oldSession}`);
    if (!id) return;
    this.byCallSession.delete(`${linkedId}:${oldSession}`);
    this.byCallSession.set(`${linkedId}:${newSession}`, id);
    this.legs.get(id)!.sessionId = newSession;
  }

  close(linkedId: string, sessionId: string): void {
    const key = `${linkedId}:${sessionId}`;
    const id = this.byCallSession.get(key);
    if (!id) return;
    this.byCallSession.delete(key);
    this.legs.delete(id);
  }

  closeCall(linkedId: string): void {
    for (const leg of this.ofCall(linkedId)) this.close(linkedId, leg.sessionId);
  }

  ofCall(linkedId: string): Leg[] {
    return [...this.legs.values()].filter((l) => l.linkedId === linkedId);
  }

  all(): Leg[] {
    return [...this.legs.values()];
  }
}
