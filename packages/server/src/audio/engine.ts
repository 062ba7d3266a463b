// What runs an agent on a leg inside the agent worker: an engine hears the caller's 20 ms frames and plays its voice through the host.
import type { AgentLegStats, TranscriptTurn } from './agent-audio.js';

export interface AgentEngine {
  /** 20 ms of the caller's audio at the factory's `inputRate`. */
  hear(frame: Int16Array): void;
  /** The call is answered. */
  answered(): void;
  dtmf(digit: string): void;
  /** The leg ends (not reported back as a hangup). */
  close(): void;
}

/** The agent's voice on its leg (see playback.ts): audio at the factory's `outputRate`. */
export interface Voice {
  push(pcm: Int16Array): void;
  mark(onPlayed: (cleared: boolean) => void): void;
  clear(): void;
  readonly playing: boolean;
}

export interface EngineHost {
  readonly voice: Voice;
  readonly stats: AgentLegStats;
  turn(turn: TranscriptTurn): void;
  /** The agent ends the call. */
  hangup(reason: string): void;
  /** The agent sends the call on to an extension, queue or IVR (a blind transfer). */
  transfer(destination: string): void;
  /** The agent dials digits into the call (an IVR on the other side). */
  sendDtmf(digits: string): void;
  error(message: string): void;
}

export interface EngineFactory {
  /** The caller's audio the engine hears, and the rate of the audio it plays (Hz). */
  readonly inputRate: number;
  readonly outputRate: number;
  create(host: EngineHost): Promise<AgentEngine>;
}
