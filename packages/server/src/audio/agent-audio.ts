// AgentAudio: the main thread's handle on the agent audio worker thread that runs every AI voice agent leg (see agent-worker.ts).
import { startWorker } from '../util/worker.js';
import { WorkerHandle } from '../util/worker-handle.js';
import type { VendorPlan } from '../agents/vendors/select.js';

export type AgentCodec = 'opus' | 'PCMU' | 'PCMA';

export interface AgentSpec {
  key: string;
  name: string;
  /** BCP 47, e.g. 'en'. */
  language: string;
  /** pipecat = a Twilio Media Streams bot at `url`; pipecat without url, or local = the pipeline with the offline engines; openai-realtime = a Realtime session. */
  provider: 'local' | 'pipecat' | 'openai-realtime';
  url: string | null;
  greeting: string | null;
  /** local: extra intents, one `phrase | phrase => answer` per line (see agents/local/script.ts). */
  prompt: string | null;
  /** local: the espeak-ng voice name; a TTS vendor's voice id. */
  voice: string | null;
  /** The LLM's model (null: the vendor adapter's default). */
  llmModel: string | null;
  /** openai-realtime: the session's WebSocket URL and the instance's OpenAI key (never logged). */
  realtime?: { url: string; apiKey: string };
}

/** customParameters include from, to, agent, call_id. */
export interface StreamIdentity {
  callSid: string;
  streamSid: string;
  accountSid: string;
  customParameters: Record<string, string>;
}

/**
 * RTP packets from and to the SFU; 20 ms frames to and from the agent (bot: media messages; local: frames heard by the
 * pipeline, frames synthesised); malformed bot messages dropped; barge-ins; whether the agent's voice is playing.
 */
export interface AgentLegStats {
  fromSfu: number;
  toSfu: number;
  toBot: number;
  fromBot: number;
  dropped: number;
  bargeIns: number;
  speaking: boolean;
}

export interface TranscriptTurn {
  role: 'agent' | 'user';
  text: string;
  /** ISO 8601, UTC: when the turn started. */
  at: string;
  /** An agent turn cut short by the caller (its text: the sentences that began playing). */
  interrupted?: boolean;
}

export type AgentCommand =
  | { type: 'open'; id: string }
  | { type: 'start'; id: string; sfuPort: number; codec: AgentCodec; payloadType: number; ssrc: number; agent: AgentSpec; vendors?: VendorPlan; stream: StreamIdentity }
  | { type: 'answered'; id: string }
  | { type: 'dtmf'; id: string; digit: string }
  | { type: 'close'; id: string };

export type AgentEvent =
  | { type: 'ready'; threadId: number | null }
  | { type: 'opened'; id: string; port: number }
  | { type: 'error'; id: string; message: string }
  | { type: 'turn'; id: string; turn: TranscriptTurn }
  | { type: 'hangup'; id: string; reason: string }
  | { type: 'transfer'; id: string; destination: string }
  | { type: 'dtmf'; id: string; digits: string }
  | { type: 'stats'; requestId: number; stats: Record<string, AgentLegStats> };

/**
 * Events: `ready` (threadId) — the worker runs, as this OS thread (null off Linux); `turn` (legId, TranscriptTurn);
 * `hangup` (legId, reason) — the agent ends the call (said goodbye, the bot closed its stream); `transfer` (legId, destination)
 * and `dtmf` (legId, digits) — the agent's tools; `error` (legId, message);
 * `exit` (err) — the worker died (its legs lost their agents; the owner starts a new one).
 */
export class AgentAudio extends WorkerHandle<AgentCommand, { port: number }, Record<string, AgentLegStats>> {
  static start(): AgentAudio {
    return new AgentAudio(startWorker(new URL('./agent-worker.ts', import.meta.url)), 'agent audio worker');
  }

  /** Binds the loopback UDP socket the leg's PlainTransport sends to; resolves to its port. */
  open(id: string): Promise<{ port: number }> {
    return this.openLeg(id, { type: 'open', id });
  }

  /**
   * Where the leg's PlainTransport listens (the worker sends the agent's RTP there), the codec, payload type and ssrc of
   * the agent's producer, what the agent is and, for a pipeline agent, its vendors (with their keys: never log this command;
   * none: the local engines).
   * Starts connecting (a media-stream bot: its WebSocket, connected + start).
   */
  start(id: string, opts: { sfuPort: number; codec: AgentCodec; payloadType: number; ssrc: number; agent: AgentSpec; vendors?: VendorPlan; stream: StreamIdentity }): void {
    this.send({ type: 'start', id, ...opts });
  }

  /** The call is answered: the agent begins (local: its greeting; media stream: the caller's audio starts flowing). */
  answered(id: string): void {
    this.send({ type: 'answered', id });
  }

  dtmf(id: string, digit: string): void {
    this.send({ type: 'dtmf', id, digit });
  }

  /** Ends the leg: a media stream gets `stop` and is closed; the local agent stops; the socket closes. */
  close(id: string): void {
    this.send({ type: 'close', id });
  }

  protected onEvent(event: AgentEvent): void {
    switch (event.type) {
      case 'opened':
        return this.opened(event.id, { port: event.port });
      case 'error':
        // An error of a running leg is the owner's to handle; unheard, an 'error' event would throw.
        if (!this.openFailed(event.id, event.message) && this.listenerCount('error') > 0) this.emit('error', event.id, event.message);
        return;
      case 'stats':
        return this.statsArrived(event.requestId, event.stats);
      case 'turn':
        this.emit('turn', event.id, event.turn);
        return;
      case 'hangup':
        this.emit('hangup', event.id, event.reason);
        return;
      case 'transfer':
        this.emit('transfer', event.id, event.destination);
        return;
      case 'dtmf':
        this.emit('dtmf', event.id, event.digits);
        return;
    }
  }
}
