// AgentAudio: the main thread's handle on the agent audio worker thread that runs every AI voice agent leg (see agent-worker.ts).
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';

export type AgentCodec = 'opus' | 'PCMU' | 'PCMA';

export interface AgentSpec {
  key: string;
  name: string;
  /** BCP 47, e.g. 'en'. */
  language: string;
  /** pipecat = a Twilio Media Streams bot at `url`; pipecat without url, or local = the pipeline with the offline engines. */
  provider: 'local' | 'pipecat';
  url: string | null;
  greeting: string | null;
  /** local: extra intents, one `phrase | phrase => answer` per line (see agents/local/script.ts). */
  prompt: string | null;
  /** local: the espeak-ng voice name. */
  voice: string | null;
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
  | { type: 'start'; id: string; sfuPort: number; codec: AgentCodec; payloadType: number; ssrc: number; agent: AgentSpec; stream: StreamIdentity }
  | { type: 'answered'; id: string }
  | { type: 'dtmf'; id: string; digit: string }
  | { type: 'close'; id: string }
  | { type: 'stats'; requestId: number };

export type AgentEvent =
  | { type: 'ready'; threadId: number | null }
  | { type: 'opened'; id: string; port: number }
  | { type: 'error'; id: string; message: string }
  | { type: 'turn'; id: string; turn: TranscriptTurn }
  | { type: 'hangup'; id: string; reason: string }
  | { type: 'stats'; requestId: number; stats: Record<string, AgentLegStats> };

/**
 * Events: `ready` (threadId) — the worker runs, as this OS thread (null off Linux); `turn` (legId, TranscriptTurn);
 * `hangup` (legId, reason) — the agent ends the call (said goodbye, the bot closed its stream); `error` (legId, message);
 * `exit` (err) — the worker died (its legs lost their agents; the owner starts a new one).
 */
export class AgentAudio extends EventEmitter {
  private readonly pending = new Map<string, { resolve: (opened: { port: number }) => void; reject: (err: Error) => void }>();
  private readonly statRequests = new Map<number, (stats: Record<string, AgentLegStats>) => void>();
  private nextRequest = 0;
  private dead = false;

  private constructor(private readonly worker: Worker) {
    super();
    worker.on('message', (event: AgentEvent) => this.onEvent(event));
    worker.on('error', (err) => this.died(err));
    worker.on('exit', (code) => this.died(new Error(`agent audio worker exited with code ${code}`)));
    worker.unref();
  }

  static start(): AgentAudio {
    return new AgentAudio(startWorker(new URL('./agent-worker.ts', import.meta.url)));
  }

  /** Binds the loopback UDP socket the leg's PlainTransport sends to; resolves to its port. */
  open(id: string): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'open', id });
    });
  }

  /**
   * Where the leg's PlainTransport listens (the worker sends the agent's RTP there), the codec, payload type and ssrc of
   * the agent's producer, and what the agent is. Starts connecting (a media-stream bot: its WebSocket, connected + start).
   */
  start(id: string, opts: { sfuPort: number; codec: AgentCodec; payloadType: number; ssrc: number; agent: AgentSpec; stream: StreamIdentity }): void {
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

  stats(): Promise<Record<string, AgentLegStats>> {
    if (this.dead) return Promise.resolve({});
    const requestId = ++this.nextRequest;
    return new Promise((resolve) => {
      this.statRequests.set(requestId, resolve);
      this.send({ type: 'stats', requestId });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private died(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const resolve of this.statRequests.values()) resolve({});
    this.statRequests.clear();
    this.emit('exit', err);
  }

  private send(cmd: AgentCommand): void {
    if (this.dead) {
      if (cmd.type === 'open') this.pending.get(cmd.id)?.reject(new Error('the agent audio worker is not running'));
      return;
    }
    this.worker.postMessage(cmd);
  }

  private onEvent(event: AgentEvent): void {
    switch (event.type) {
      case 'ready':
        this.emit('ready', event.threadId);
        return;
      case 'opened':
        this.pending.get(event.id)?.resolve({ port: event.port });
        this.pending.delete(event.id);
        return;
      case 'error': {
        const pending = this.pending.get(event.id);
        this.pending.delete(event.id);
        if (pending) pending.reject(new Error(event.message));
        else if (this.listenerCount('error') > 0) this.emit('error', event.id, event.message); // unheard, an 'error' event would throw
        return;
      }
      case 'stats':
        this.statRequests.get(event.requestId)?.(event.stats);
        this.statRequests.delete(event.requestId);
        return;
      case 'turn':
        this.emit('turn', event.id, event.turn);
        return;
      case 'hangup':
        this.emit('hangup', event.id, event.reason);
        return;
    }
  }
}
