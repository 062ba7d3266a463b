// AI agents as call control sees them: a destination `agent:<key>` anywhere a destination is accepted, rung as a leg.
import { AGENT_KEY_PATTERN, type PartyInfo } from '@astral/protocol';
import type { Call } from './call.js';
import type { RingOutcome } from './ringing.js';

/** What call control knows of an agent: its key and name (how it talks is the agent runtime's business). */
export interface AgentRef {
  key: string;
  name: string;
  /** An agent reached over SIP (Retell) takes G.711: the call's widgets send it. */
  codec?: 'PCMU' | 'PCMA';
}

export interface AgentNetwork {
  /** The instance's agent with this key, when there is one that can take calls. */
  find(instanceId: string, key: string): Promise<AgentRef | undefined>;
  /** Rings the agent (a ref `find` returned) as one more leg of the call; it answers at once (the one ring operation underneath). */
  ring(call: Call, agent: AgentRef, opts: { timeoutMs: number; from?: PartyInfo }): Promise<RingOutcome>;
}

const AGENT_DESTINATION = new RegExp(`^agent:(${AGENT_KEY_PATTERN})$`);

/** The agent key of a destination written `agent:<key>` (a widget's dial, a queue's overflow, an IVR option, a number). */
export const agentKeyOf = (destination: string): string | null => AGENT_DESTINATION.exec(destination)?.[1] ?? null;

export const agentDestination = (key: string): string => `agent:${key}`;

/** How an agent shows as the far party of a call (a widget's `to`, a carrier's callee) before one of its legs answers. */
export const agentParty = (agent: AgentRef): PartyInfo => ({ userId: agentDestination(agent.key), identity: agentDestination(agent.key), displayName: agent.name, extension: null });
