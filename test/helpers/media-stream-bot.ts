// A media-stream bot for tests, written from Twilio's Media Streams documentation
// (https://www.twilio.com/docs/voice/media-streams/websocket-messages): a WebSocket server the platform connects to per
// call. The platform sends JSON text frames `connected`, `start`, `media` (base64 8 kHz mu-law, 20 ms = 160 bytes),
// `dtmf`, `mark` (echo of the bot's mark once the audio before it played or was cleared) and `stop`; the bot sends
// `media` {payload}, `mark` {name} and `clear`. Everything received is kept with its arrival time for the test to check.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import alawmulaw from 'alawmulaw';
import type { WebSocket, WebSocketServer as WssClass } from 'ws';
import { responseOf } from './agents.js';
import { rms, tonePower } from './tone.js';

const { mulaw } = alawmulaw;
// The root's `ws` may be 7.x (CommonJS, no named ESM exports) or 8.x; both have the server class on the CommonJS export.
const wsModule = createRequire(import.meta.url)('ws') as { WebSocketServer?: typeof WssClass; Server: typeof WssClass };
const WebSocketServer = wsModule.WebSocketServer ?? wsModule.Server;

export const FRAME_SAMPLES = 160; // 20 ms at 8 kHz

/** A message from the platform, as parsed JSON, with when it arrived (Date.now()). */
export interface StreamMessage {
  event: string;
  at: number;
  [field: string]: unknown;
}

export interface StartMessage extends StreamMessage {
  sequenceNumber: string;
  streamSid: string;
  start: {
    streamSid: string;
    accountSid: string;
    callSid: string;
    tracks: string[];
    customParameters: Record<string, string>;
    mediaFormat: { encoding: string; sampleRate: number; channels: number };
  };
}

export interface MediaMessage extends StreamMessage {
  sequenceNumber: string;
  streamSid: string;
  media: { track: string; chunk: string | number; timestamp: string | number; payload: string };
}

/** A sine at `hz` as 8 kHz 16-bit PCM. */
export function tone8k(hz: number, seconds: number, amplitude = 0.3): Int16Array {
  const pcm = new Int16Array(Math.round(8000 * seconds));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return pcm;
}

/** One call's stream: what the platform sent, and the bot's side of the protocol. */
export class BotStream {
  readonly messages: StreamMessage[] = [];
  /** Decoded inbound audio (8 kHz PCM), one entry per media message. */
  readonly frames: { at: number; pcm: Int16Array; payloadBytes: number }[] = [];
  /** Set when a frame could not be parsed or violated the documented shape (checked by the test). */
  readonly problems: string[] = [];
  readonly closed: Promise<{ code: number; at: number }>;
  private waiters: { pred: (m: StreamMessage) => boolean; resolve: (m: StreamMessage) => void }[] = [];
  /** Set by the bot's barge-in detector: when it heard the caller over its own audio and sent `clear`. */
  bargedInAt: number | null = null;
  private talkingUntil = 0;
  bargeIn: { rms: number } | null = null;

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.problems.push('a binary frame (the protocol is JSON text frames)');
        return;
      }
      let msg: StreamMessage;
      try {
        msg = { ...(JSON.parse(data.toString()) as { event: string }), at: Date.now() };
      } catch {
        this.problems.push(`not JSON: ${data.toString().slice(0, 80)}`);
        return;
      }
      this.messages.push(msg);
      if (msg.event === 'media') this.onMedia(msg as MediaMessage);
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
  }

  private onMedia(msg: MediaMessage): void {
    const payload = Buffer.from(msg.media?.payload ?? '', 'base64');
    const pcm = mulaw.decode(new Uint8Array(payload));
    this.frames.push({ at: msg.at, pcm, payloadBytes: payload.length });
    if (this.bargeIn && this.bargedInAt === null && Date.now() < this.talkingUntil && rms(pcm) >= this.bargeIn.rms) {
      this.bargedInAt = Date.now();
      this.clear();
    }
  }

  get start(): StartMessage | undefined {
    return this.messages.find((m) => m.event === 'start') as StartMessage | undefined;
  }

  get streamSid(): string {
    const sid = this.start?.streamSid;
    if (!sid) throw new Error('no start message yet');
    return sid;
  }

  /** The next message (already received or not) matching `pred`. */
  waitFor(pred: (m: StreamMessage) => boolean, timeoutMs = 10_000, what = 'a message', since = 0): Promise<StreamMessage> {
    const seen = this.messages.find((m) => m.at >= since && pred(m));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { pred: (m: StreamMessage) => m.at >= since && pred(m), resolve: (m: StreamMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`the bot got no ${what} within ${timeoutMs} ms; events so far: ${this.summary()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  waitEvent(event: string, timeoutMs = 10_000): Promise<StreamMessage> {
    return this.waitFor((m) => m.event === event, timeoutMs, `"${event}"`);
  }

  /** Counts of each event received, for failure messages. */
  summary(): string {
    const counts: Record<string, number> = {};
    for (const m of this.messages) counts[m.event] = (counts[m.event] ?? 0) + 1;
    return JSON.stringify(counts);
  }

  /** Inbound PCM of the last `ms` milliseconds of frames received. */
  recent(ms: number): Int16Array {
    const frames = this.frames.slice(-Math.ceil(ms / 20));
    const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
    let at = 0;
    for (const f of frames) out.set(f.pcm, (at += f.pcm.length) - f.pcm.length);
    return out;
  }

  /** Waits until the caller's audio carries `hz` (Goertzel power ≥ 0.3 of a pure tone's 0.5) over the last 400 ms. */
  async waitForTone(hz: number, timeoutMs = 8000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let power = 0;
    while (Date.now() < deadline) {
      const pcm = this.recent(400);
      power = pcm.length >= 3000 ? tonePower(pcm, 8000, hz) : 0;
      if (power >= 0.3) return power;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the bot never heard ${hz} Hz in the caller's audio (last power ${power.toFixed(3)}; ${this.frames.length} frames)`);
  }

  private send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Sends 8 kHz PCM as mu-law `media` messages of 20 ms, all at once (the platform buffers and plays them in time). */
  play(pcm: Int16Array): void {
    const ulaw = mulaw.encode(pcm);
    for (let i = 0; i < ulaw.length; i += FRAME_SAMPLES) {
      this.send({ event: 'media', streamSid: this.streamSid, media: { payload: Buffer.from(ulaw.subarray(i, i + FRAME_SAMPLES)).toString('base64') } });
    }
    this.talkingUntil = Math.max(this.talkingUntil, Date.now()) + (pcm.length / 8000) * 1000;
  }

  mark(name: string): number {
    this.send({ event: 'mark', streamSid: this.streamSid, mark: { name } });
    return Date.now();
  }

  clear(): number {
    this.send({ event: 'clear', streamSid: this.streamSid });
    this.talkingUntil = 0;
    return Date.now();
  }

  /** The platform's echo of the mark named `name`. */
  markEcho(name: string, timeoutMs = 10_000): Promise<StreamMessage> {
    return this.waitFor((m) => m.event === 'mark' && (m.mark as { name?: string } | undefined)?.name === name, timeoutMs, `echo of mark "${name}"`);
  }
}


export interface MediaStreamBot {
  port: number;
  url: string;
  streams: BotStream[];
  /** Requests' paths the platform connected with. */
  paths: string[];
  /** The next stream to connect (or one that connected since the last call and was not taken yet). */
  nextStream(timeoutMs?: number): Promise<BotStream>;
  close(): Promise<void>;
}

export async function startMediaStreamBot(): Promise<MediaStreamBot> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', () => resolve());
    wss.once('error', reject);
  });
  const port = (wss.address() as { port: number }).port;
  const streams: BotStream[] = [];
  const paths: string[] = [];
  const pending: BotStream[] = [];
  const waiting: ((s: BotStream) => void)[] = [];
  wss.on('connection', (ws, req) => {
    paths.push(req.url ?? '');
    const stream = new BotStream(ws);
    streams.push(stream);
    const w = waiting.shift();
    if (w) w(stream);
    else pending.push(stream);
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    streams,
    paths,
    nextStream(timeoutMs = 10_000) {
      const ready = pending.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(take), 1);
          reject(new Error(`no platform connection to the bot within ${timeoutMs} ms`));
        }, timeoutMs);
        const take = (s: BotStream) => {
          clearTimeout(timer);
          resolve(s);
        };
        waiting.push(take);
      });
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** `X-Astral-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const astralSignature = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/** Posts the call-completed webhook the way a bot does; `signature` overrides the header (a forged one). */
export async function postCallCompleted(serverUrl: string, secret: string, payload: Record<string, unknown>, signature?: string): Promise<{ status: number; body: any }> {
  const body = JSON.stringify(payload);
  const res = await fetch(`${serverUrl}/v1/webhooks/call-completed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-astral-signature': signature ?? astralSignature(secret, body) },
    body,
  });
  return responseOf(res);
}
