// A fake OpenAI Realtime server, written from OpenAI's Realtime API reference (WebSocket, GA interface): the handshake on
// /v1/realtime?model=… with `Authorization: Bearer`, session.created then session.updated for each session.update,
// input_audio_buffer.append (base64 audio/pcm 24 kHz, audio/pcmu, audio/pcma) with server VAD by energy (speech_started,
// speech_stopped, committed, the item, its input transcription), responses (response.created, output item and content part,
// response.output_audio.delta of a tone faster than real time with response.output_audio_transcript.delta, the .done events,
// response.done), interruption (VAD cancels the response; response.cancel; conversation.item.truncate), error events and a drop.
import alawmulaw from 'alawmulaw';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeReply {
  text: string;
  hz: number;
  seconds: number;
}

export interface RealtimeFakeOptions {
  apiKey: string;
  /** What the caller is heard to say (each utterance's input transcription). */
  userTranscript?: string;
  /** The replies, in order (the greeting's response.create first); the last one repeats. */
  replies?: FakeReply[];
  /** Mean absolute level of a 20 ms window that counts as speech. */
  speechLevel?: number;
}

type Format = { type: 'audio/pcm'; rate?: number } | { type: 'audio/pcmu' } | { type: 'audio/pcma' };
const FORMATS = ['audio/pcm', 'audio/pcmu', 'audio/pcma'];
const SPEECH_WINDOWS = 3; // 60 ms of speech starts an utterance
const SILENCE_MS = 500; // server_vad's default silence_duration_ms
const CHUNK_MS = 100; // audio per delta, sent every 20 ms: five times real time

const rateOf = (f: Format) => (f.type === 'audio/pcm' ? 24_000 : 8000);

function decode(format: Format, bytes: Buffer): Int16Array {
  if (format.type === 'audio/pcmu') return alawmulaw.mulaw.decode(bytes);
  if (format.type === 'audio/pcma') return alawmulaw.alaw.decode(bytes);
  return Int16Array.from({ length: bytes.length >> 1 }, (_, i) => bytes.readInt16LE(2 * i));
}

function encode(format: Format, pcm: Int16Array): Buffer {
  if (format.type === 'audio/pcmu') return Buffer.from(alawmulaw.mulaw.encode(pcm));
  if (format.type === 'audio/pcma') return Buffer.from(alawmulaw.alaw.encode(pcm));
  const out = Buffer.alloc(pcm.length * 2);
  pcm.forEach((x, i) => out.writeInt16LE(x, 2 * i));
  return out;
}

interface Response {
  id: string;
  itemId: string;
  status: 'in_progress' | 'completed' | 'cancelled';
  sentMs: number;
  timer: NodeJS.Timeout | null;
}

/** One connection: what the client sent, and the server's side of the protocol. */
export class RealtimeSession {
  readonly received: (Record<string, any> & { at: number })[] = [];
  /** Where the client broke the documented protocol (checked by tests). */
  readonly problems: string[] = [];
  readonly responses: Response[] = [];
  readonly truncations: { item_id: string; content_index: number; audio_end_ms: number }[] = [];
  /** The caller's audio as appended, decoded (at the input format's rate). */
  heard: Int16Array[] = [];
  speechStartedAt: number[] = [];
  readonly closed: Promise<number>;
  session: Record<string, any> = { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad', create_response: true, interrupt_response: true } }, output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy' } } };
  private ids = 0;
  private appendedMs = 0;
  private loud = 0;
  private quietMs = 0;
  private utterance: { itemId: string } | null = null;
  private replyIndex = 0;
  private lastItem: string | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
    private readonly options: RealtimeFakeOptions,
  ) {
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (data) => this.onMessage(data.toString()));
    this.send('session.created', { session: { id: this.id('sess'), object: 'realtime.session', model: new URL(request.url!, 'http://x').searchParams.get('model'), ...this.session } });
  }

  get inputFormat(): Format {
    return this.session.audio.input.format;
  }

  /** Event types received, in order. */
  types(): string[] {
    return this.received.map((e) => e.type);
  }

  sendError(message: string, type = 'server_error', code: string | null = null): void {
    this.send('error', { error: { type, code, message, param: null, event_id: null } });
  }

  /** The connection drops (no close frame). */
  drop(): void {
    this.ws.terminate();
  }

  private id(prefix: string): string {
    return `${prefix}_fake${++this.ids}`;
  }

  private send(type: string, fields: Record<string, unknown> = {}): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify({ event_id: this.id('event'), type, ...fields }));
  }

  private onMessage(text: string): void {
    let event: Record<string, any>;
    try {
      event = JSON.parse(text);
    } catch {
      this.problems.push(`not JSON: ${text.slice(0, 80)}`);
      return this.sendError('Invalid JSON', 'invalid_request_error', 'invalid_json');
    }
    this.received.push({ ...event, at: Date.now() });
    switch (event.type) {
      case 'session.update':
        return this.sessionUpdate(event);
      case 'input_audio_buffer.append':
        return this.append(event);
      case 'response.create':
        return this.respond();
      case 'response.cancel': {
        const active = this.responses.find((r) => r.status === 'in_progress' && (!event.response_id || r.id === event.response_id));
        if (active) return this.cancel(active);
        return this.send('error', { error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found', param: null, event_id: event.event_id ?? null } });
      }
      case 'conversation.item.truncate':
        return this.truncate(event);
      default:
        this.problems.push(`unexpected client event ${event.type}`);
        this.send('error', { error: { type: 'invalid_request_error', code: 'unknown_event', message: `Unknown event type ${event.type}`, param: null, event_id: event.event_id ?? null } });
    }
  }

  private sessionUpdate(event: Record<string, any>): void {
    const s = event.session ?? {};
    const check = (ok: boolean, what: string) => ok || this.problems.push(`session.update: ${what}`);
    check(s.type === 'realtime', 'session.type is realtime');
    check(typeof s.instructions === 'string' && s.instructions.length > 0, 'instructions');
    for (const side of ['input', 'output'] as const) {
      const f = s.audio?.[side]?.format;
      check(FORMATS.includes(f?.type) && (f.type !== 'audio/pcm' || f.rate === 24000), `audio.${side}.format is one of ${FORMATS} (pcm at 24000)`);
    }
    check(s.audio?.input?.turn_detection?.type === 'server_vad', 'server_vad turn detection');
    check(typeof s.audio?.input?.transcription?.model === 'string', 'input transcription model');
    check(typeof s.audio?.output?.voice === 'string', 'a voice');
    this.session = { ...this.session, ...s, audio: { input: { ...this.session.audio.input, ...s.audio?.input }, output: { ...this.session.audio.output, ...s.audio?.output } } };
    this.send('session.updated', { session: this.session });
  }

  private append(event: Record<string, any>): void {
    if (typeof event.audio !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(event.audio)) {
      this.problems.push('input_audio_buffer.append without base64 audio');
      return;
    }
    const pcm = decode(this.inputFormat, Buffer.from(event.audio, 'base64'));
    this.heard.push(pcm);
    const window = rateOf(this.inputFormat) / 50;
    for (let at = 0; at + window <= pcm.length; at += window) {
      let sum = 0;
      for (let i = at; i < at + window; i++) sum += Math.abs(pcm[i]!);
      this.vad(sum / window >= (this.options.speechLevel ?? 400));
      this.appendedMs += 20;
    }
  }

  /** Server VAD: 60 ms of speech starts an utterance (and interrupts the response), 500 ms of silence ends it. */
  private vad(voiced: boolean): void {
    this.loud = voiced ? this.loud + 1 : 0;
    if (!this.utterance) {
      if (this.loud < SPEECH_WINDOWS) return;
      this.utterance = { itemId: this.id('item') };
      this.quietMs = 0;
      this.speechStartedAt.push(Date.now());
      this.send('input_audio_buffer.speech_started', { audio_start_ms: Math.max(0, this.appendedMs - 300), item_id: this.utterance.itemId });
      const active = this.responses.find((r) => r.status === 'in_progress');
      if (active && this.session.audio.input.turn_detection?.interrupt_response !== false) this.cancel(active);
      return;
    }
    this.quietMs = voiced ? 0 : this.quietMs + 20;
    if (this.quietMs < SILENCE_MS) return;
    const { itemId } = this.utterance;
    this.utterance = null;
    this.send('input_audio_buffer.speech_stopped', { audio_end_ms: this.appendedMs, item_id: itemId });
    this.send('input_audio_buffer.committed', { previous_item_id: this.lastItem, item_id: itemId });
    this.send('conversation.item.added', { previous_item_id: this.lastItem, item: { id: itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] } });
    this.lastItem = itemId;
    this.send('conversation.item.input_audio_transcription.completed', { item_id: itemId, content_index: 0, transcript: this.options.userTranscript ?? 'Hello there.' });
    if (this.session.audio.input.turn_detection?.create_response !== false) this.respond();
  }

  private respond(): void {
    const replies = this.options.replies ?? [{ text: 'Hello from the fake.', hz: 700, seconds: 1 }];
    const reply = replies[Math.min(this.replyIndex++, replies.length - 1)]!;
    const response: Response = { id: this.id('resp'), itemId: this.id('item'), status: 'in_progress', sentMs: 0, timer: null };
    this.responses.push(response);
    const ids = { response_id: response.id, item_id: response.itemId, output_index: 0, content_index: 0 };
    const item = { id: response.itemId, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] as unknown[] };
    this.send('response.created', { response: { id: response.id, object: 'realtime.response', status: 'in_progress', output: [] } });
    this.send('response.output_item.added', { response_id: response.id, output_index: 0, item });
    this.send('conversation.item.added', { previous_item_id: this.lastItem, item });
    this.lastItem = response.itemId;
    this.send('response.content_part.added', { ...ids, part: { type: 'audio', transcript: '' } });
    const format: Format = this.session.audio.output.format;
    const rate = rateOf(format);
    const total = Math.round(reply.seconds * rate);
    const words = reply.text.split(' ');
    const chunks = Math.ceil((reply.seconds * 1000) / CHUNK_MS);
    let chunk = 0;
    const next = () => {
      if (response.status !== 'in_progress') return;
      const from = Math.round((chunk * CHUNK_MS * rate) / 1000);
      const to = Math.min(total, Math.round(((chunk + 1) * CHUNK_MS * rate) / 1000));
      const pcm = Int16Array.from({ length: to - from }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * reply.hz * (from + i)) / rate)));
      this.send('response.output_audio.delta', { ...ids, delta: encode(format, pcm).toString('base64') });
      response.sentMs += ((to - from) * 1000) / rate;
      const spoken = words.filter((_, i) => Math.floor((i * chunks) / words.length) === chunk).join(' ');
      if (spoken) this.send('response.output_audio_transcript.delta', { ...ids, delta: chunk === 0 ? spoken : ` ${spoken}` });
      if (++chunk < chunks) return void (response.timer = setTimeout(next, 20));
      response.status = 'completed';
      this.send('response.output_audio.done', ids);
      this.send('response.output_audio_transcript.done', { ...ids, transcript: reply.text });
      this.send('response.content_part.done', { ...ids, part: { type: 'audio', transcript: reply.text } });
      this.send('response.output_item.done', { response_id: response.id, output_index: 0, item: { ...item, status: 'completed', content: [{ type: 'output_audio', transcript: reply.text }] } });
      this.send('response.done', { response: { id: response.id, object: 'realtime.response', status: 'completed', output: [{ ...item, status: 'completed' }] } });
    };
    next();
  }

  private cancel(response: Response): void {
    if (response.timer) clearTimeout(response.timer);
    response.status = 'cancelled';
    this.send('response.done', { response: { id: response.id, object: 'realtime.response', status: 'cancelled', status_details: { type: 'cancelled', reason: 'turn_detected' }, output: [] } });
  }

  private truncate(event: Record<string, any>): void {
    const response = this.responses.find((r) => r.itemId === event.item_id);
    const fail = (message: string) => this.send('error', { error: { type: 'invalid_request_error', code: 'invalid_value', message, param: null, event_id: event.event_id ?? null } });
    if (!response) return fail(`Item ${event.item_id} is not an assistant item`);
    if (event.content_index !== 0 || typeof event.audio_end_ms !== 'number') return fail('content_index must be 0 and audio_end_ms a number');
    if (event.audio_end_ms > response.sentMs) return fail(`audio_end_ms ${event.audio_end_ms} is beyond the item's ${response.sentMs} ms of audio`);
    this.truncations.push({ item_id: event.item_id, content_index: event.content_index, audio_end_ms: event.audio_end_ms });
    this.send('conversation.item.truncated', { item_id: event.item_id, content_index: 0, audio_end_ms: event.audio_end_ms });
  }
}

export interface RealtimeFake {
  /** The OpenAI base URL to give an agent as `base_urls.openai` (http://127.0.0.1:port/v1). */
  readonly baseUrl: string;
  readonly sessions: RealtimeSession[];
  /** Handshakes refused (a wrong or missing key, no model). */
  readonly refused: { status: number; authorization: string | undefined }[];
  nextSession(timeoutMs?: number): Promise<RealtimeSession>;
  close(): Promise<void>;
}

export async function startRealtimeFake(options: RealtimeFakeOptions): Promise<RealtimeFake> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const sessions: RealtimeSession[] = [];
  const refused: RealtimeFake['refused'] = [];
  let taken = 0;
  const refuse = (socket: Duplex, status: number, authorization: string | undefined, error: Record<string, string>) => {
    refused.push({ status, authorization });
    const body = JSON.stringify({ error: { ...error, param: null } });
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const authorization = req.headers.authorization;
    if (url.pathname !== '/v1/realtime') return refuse(socket, 400, authorization, { type: 'invalid_request_error', code: 'not_found', message: `no route ${url.pathname}` });
    if (authorization !== `Bearer ${options.apiKey}`) {
      return refuse(socket, 401, authorization, { type: 'invalid_request_error', code: 'invalid_api_key', message: `Incorrect API key provided: ${authorization?.slice(7) ?? ''}.` });
    }
    if (!url.searchParams.get('model')) return refuse(socket, 400, authorization, { type: 'invalid_request_error', code: 'missing_model', message: 'Missing required parameter: model' });
    wss.handleUpgrade(req, socket, head, (ws) => sessions.push(new RealtimeSession(ws, req, options)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    sessions,
    refused,
    async nextSession(timeoutMs = 10_000) {
      for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (sessions[taken]) return sessions[taken++]!;
      throw new Error('no Realtime connection arrived');
    },
    async close() {
      for (const s of sessions) s.ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
