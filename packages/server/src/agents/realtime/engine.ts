// OpenAI Realtime engine: the call bridged to a Realtime session over WebSocket — the caller's audio appended, the model's audio
// played, the caller's speech (server VAD) cutting it short, transcripts reported as turns; a failure ends the call after an apology.
import WebSocket from 'ws';
import type { AgentCodec, AgentSpec } from '../../audio/agent-audio.js';
import type { AgentEngine, EngineFactory, EngineHost } from '../../audio/engine.js';
import { Resampler } from '../../audio/resample.js';
import { ESPEAK_RATE, espeakVoice, synthesize } from '../local/espeak.js';
import { greetingRequest, realtimeAudio, sessionUpdate, type RealtimeAudio } from './session.js';

const CONNECT_TIMEOUT_MS = 5000;
/** A server event larger than this closes the socket: a second of pcm16 at 24 kHz is 64 KB in base64. */
const MAX_SERVER_EVENT = 8 * 1024 * 1024;
export const APOLOGY = 'Sorry, the assistant is not available right now. Please call again later.';

export function realtimeEngine(agent: AgentSpec, codec: AgentCodec): EngineFactory {
  const audio = realtimeAudio(codec);
  return {
    inputRate: audio.rate,
    outputRate: audio.rate,
    create: async (host) => {
      if (!agent.realtime) throw new Error('openai realtime: no endpoint or key for the agent');
      return new RealtimeEngine(agent, agent.realtime, audio, host);
    },
  };
}

/** One assistant audio item: what of it was heard, and whether it became a turn yet. */
interface AgentItem {
  readonly id: string;
  /** Transcript deltas, each placed at the start of the audio chunk received just before it (a cut turn keeps those begun playing). */
  readonly words: { text: string; fromMs: number }[];
  transcript: string | null;
  at: string | null;
  sentMs: number;
  lastChunkMs: number;
  playedMs: number;
  /** Cut short by the caller: its late audio is dropped. */
  cut: boolean;
  reported: boolean;
}

type ServerEvent = Record<string, unknown> & { type: string };

class RealtimeEngine implements AgentEngine {
  private readonly ws: WebSocket;
  private flowing = false;
  private greeted = false;
  private closed = false;
  private failing = false;
  private eventCount = 0;
  /** Ids of the response.cancel and conversation.item.truncate we sent: an error about one is a lost race with the server's own VAD interruption. */
  private readonly raceable = new Set<string>();
  private activeResponse: string | null = null;
  private current: AgentItem | null = null;
  /** When each of the caller's utterances began (server VAD's item ids). */
  private readonly speechAt = new Map<string, string>();

  constructor(
    private readonly agent: AgentSpec,
    private readonly target: { url: string; apiKey: string },
    private readonly audio: RealtimeAudio,
    private readonly host: EngineHost,
  ) {
    this.ws = new WebSocket(target.url, { headers: { Authorization: `Bearer ${target.apiKey}` }, maxPayload: MAX_SERVER_EVENT, handshakeTimeout: CONNECT_TIMEOUT_MS });
    this.ws.on('open', () => this.opened());
    this.ws.on('message', (data, isBinary) => this.fromServer(data as Buffer, isBinary));
    this.ws.on('error', (err) => this.fail(err.message));
    this.ws.on('close', (code, reason) => this.fail(`the connection closed (${code}${reason.length > 0 ? ` ${reason.toString('utf8')}` : ''})`));
  }

  answered(): void {
    this.flowing = true;
    this.greet();
  }

  hear(frame: Int16Array): void {
    if (!this.flowing || this.failing || this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ type: 'input_audio_buffer.append', audio: this.audio.encode(frame).toString('base64') });
    this.host.stats.toBot++;
  }

  dtmf(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else this.ws.terminate();
  }

  private opened(): void {
    this.send(sessionUpdate(this.agent, this.audio));
    this.greet();
  }

  private greet(): void {
    if (this.greeted || !this.flowing || this.ws.readyState !== WebSocket.OPEN) return;
    this.greeted = true;
    this.send(greetingRequest(this.agent));
  }

  /** Sends a client event with its own event_id; returns the id. */
  private send(event: Record<string, unknown>): string {
    const eventId = `event_astral_${++this.eventCount}`;
    this.ws.send(JSON.stringify({ event_id: eventId, ...event }));
    return eventId;
  }

  private fromServer(data: Buffer, isBinary: boolean): void {
    if (this.closed || this.failing) return;
    const event = isBinary ? null : parseEvent(data.toString('utf8'));
    if (!event) {
      this.host.stats.dropped++;
      return;
    }
    const text = (field: string) => (typeof event[field] === 'string' ? (event[field] as string) : '');
    switch (event.type) {
      case 'input_audio_buffer.speech_started':
        this.speechAt.set(text('item_id'), new Date().toISOString());
        return this.bargeIn();
      case 'conversation.item.input_audio_transcription.completed': {
        const heard = text('transcript').trim();
        const at = this.speechAt.get(text('item_id')) ?? new Date().toISOString();
        this.speechAt.delete(text('item_id'));
        if (heard) this.host.turn({ role: 'user', text: heard, at });
        return;
      }
      case 'response.created':
        this.activeResponse = (event.response as { id?: string } | undefined)?.id ?? null;
        return;
      case 'response.done':
        return this.responseDone((event.response as { id?: string } | undefined)?.id ?? null);
      case 'response.output_audio.delta':
      case 'response.audio.delta':
        return this.audioDelta(text('item_id'), text('delta'));
      case 'response.output_audio_transcript.delta':
      case 'response.audio_transcript.delta': {
        const item = this.itemFor(text('item_id'));
        if (!item.cut) item.words.push({ text: text('delta'), fromMs: item.sentMs - item.lastChunkMs });
        return;
      }
      case 'response.output_audio_transcript.done':
      case 'response.audio_transcript.done': {
        const item = this.itemFor(text('item_id'));
        if (!item.cut) item.transcript = text('transcript') || null;
        return;
      }
      case 'error': {
        const error = (event.error ?? {}) as { message?: string; type?: string; code?: string | null; event_id?: string | null };
        if (error.event_id && this.raceable.has(error.event_id)) return;
        return this.fail(`error event ${error.type ?? 'unknown'}${error.code ? `/${error.code}` : ''}: ${error.message ?? ''}`);
      }
      default:
        return; // session.created/updated, committed, item and content-part events: nothing the call acts on
    }
  }

  private itemFor(id: string): AgentItem {
    if (this.current?.id !== id) this.current = { id, words: [], transcript: null, at: null, sentMs: 0, lastChunkMs: 0, playedMs: 0, cut: false, reported: false };
    return this.current;
  }

  private audioDelta(itemId: string, delta: string): void {
    const item = this.itemFor(itemId);
    if (item.cut || !delta) return;
    const pcm = this.audio.decode(Buffer.from(delta, 'base64'));
    if (pcm.length === 0) return;
    const ms = (pcm.length * 1000) / this.audio.rate;
    const { voice, stats } = this.host;
    if (item.sentMs === 0) voice.mark((cleared) => cleared || (item.at = new Date().toISOString()));
    voice.push(pcm);
    voice.mark((cleared) => cleared || (item.playedMs += ms));
    item.sentMs += ms;
    item.lastChunkMs = ms;
    stats.fromBot++;
  }

  /** The response is complete: its item becomes an agent turn once all its audio has played (a barge-in reports it instead). */
  private responseDone(id: string | null): void {
    if (id === this.activeResponse) this.activeResponse = null;
    const item = this.current;
    if (!item || item.cut || item.reported) return;
    this.host.voice.mark((cleared) => cleared || this.report(item, false));
  }

  /** The caller speaks: the agent's voice stops at once; the response is cancelled and its item truncated to what was heard. */
  private bargeIn(): void {
    const { voice, stats } = this.host;
    const item = this.current;
    const wasPlaying = voice.playing;
    if (wasPlaying) stats.bargeIns++;
    voice.clear();
    if (this.activeResponse) this.raceable.add(this.send({ type: 'response.cancel', response_id: this.activeResponse }));
    if (!item || item.reported || item.cut) return;
    item.cut = true;
    if (item.playedMs < item.sentMs) {
      this.raceable.add(this.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: Math.floor(item.playedMs) }));
    }
    if (item.playedMs > 0) this.report(item, wasPlaying && item.playedMs < item.sentMs);
  }

  /** An agent turn: the whole transcript, or (cut short) the words whose audio had begun playing. */
  private report(item: AgentItem, interrupted: boolean): void {
    if (item.reported) return;
    item.reported = true;
    const heard = interrupted ? item.words.filter((w) => w.fromMs <= item.playedMs) : item.words;
    const text = ((interrupted ? null : item.transcript) ?? heard.map((w) => w.text).join('')).trim();
    if (text) this.host.turn({ role: 'agent', text, at: item.at ?? new Date().toISOString(), ...(interrupted ? { interrupted: true } : {}) });
  }

  /** An error event or a lost connection: the caller hears an apology (when the call is up), then the failure ends the call. */
  private fail(reason: string): void {
    if (this.closed || this.failing) return;
    this.failing = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    const message = `openai realtime: ${reason.split(this.target.apiKey).join('[redacted]')}`;
    void this.apologise().finally(() => {
      if (!this.closed) this.host.error(message);
    });
  }

  private async apologise(): Promise<void> {
    if (!this.flowing) return;
    const { voice } = this.host;
    voice.clear();
    try {
      const speech = await synthesize(APOLOGY, espeakVoice(this.agent.language, null));
      const resampler = await Resampler.create(ESPEAK_RATE, this.audio.rate);
      const pcm = resampler.process(speech);
      resampler.destroy();
      if (this.closed) return;
      voice.push(pcm);
      await new Promise<void>((resolve) => voice.mark(() => resolve()));
    } catch {
      // No speech synthesis here: the call still ends, without the apology.
    }
  }
}

function parseEvent(text: string): ServerEvent | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string' ? (value as ServerEvent) : null;
  } catch {
    return null;
  }
}
