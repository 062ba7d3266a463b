// Twilio Media Streams client engine: the call's audio to a bot's WebSocket (8 kHz µ-law JSON frames) and the bot's audio, marks and clears back.
import alawmulaw from 'alawmulaw';
import WebSocket from 'ws';
import type { StreamIdentity } from '../audio/agent-audio.js';
import type { AgentEngine, EngineFactory, EngineHost } from '../audio/engine.js';

export const MEDIA_STREAM_RATE = 8000;
/** A bot's message larger than this closes its socket (1009): a second of µ-law is 11 KB in base64 JSON. */
export const MAX_BOT_MESSAGE = 256 * 1024;
const CONNECT_TIMEOUT_MS = 5000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function mediaStreamEngine(url: string, stream: StreamIdentity): EngineFactory {
  return { inputRate: MEDIA_STREAM_RATE, outputRate: MEDIA_STREAM_RATE, create: async (host) => new MediaStreamEngine(url, stream, host) };
}

class MediaStreamEngine implements AgentEngine {
  private readonly ws: WebSocket;
  private sequence = 0;
  private chunk = 0;
  private flowing = false;
  private closed = false;
  private failed = false;

  constructor(
    url: string,
    private readonly stream: StreamIdentity,
    private readonly host: EngineHost,
  ) {
    this.ws = new WebSocket(url, { maxPayload: MAX_BOT_MESSAGE, handshakeTimeout: CONNECT_TIMEOUT_MS });
    this.ws.on('open', () => this.opened());
    this.ws.on('message', (data, isBinary) => this.fromBot(data as Buffer, isBinary));
    this.ws.on('error', (err) => this.fail(err.message));
    this.ws.on('close', () => {
      if (!this.closed && !this.failed) this.host.hangup('the bot closed the media stream');
      this.closed = true;
    });
  }

  answered(): void {
    this.flowing = true;
  }

  hear(frame: Int16Array): void {
    if (!this.flowing || this.ws.readyState !== WebSocket.OPEN) return;
    this.chunk++;
    const payload = Buffer.from(alawmulaw.mulaw.encode(frame)).toString('base64');
    this.send({ event: 'media', media: { track: 'inbound', chunk: String(this.chunk), timestamp: String((this.chunk - 1) * 20), payload } });
    this.host.stats.toBot++;
  }

  dtmf(digit: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.send({ event: 'dtmf', dtmf: { track: 'inbound_track', digit } });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.send({ event: 'stop', stop: { accountSid: this.stream.accountSid, callSid: this.stream.callSid } });
      this.ws.close(1000);
    } else this.ws.terminate();
  }

  private opened(): void {
    const { streamSid, accountSid, callSid, customParameters } = this.stream;
    this.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    this.send({
      event: 'start',
      start: { streamSid, accountSid, callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
    });
  }

  /** Every message but `connected` carries the stream's sid and the next sequence number (strings, as Twilio sends them). */
  private send({ event, ...fields }: { event: string } & Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ event, sequenceNumber: String(++this.sequence), streamSid: this.stream.streamSid, ...fields }));
  }

  private fail(message: string): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    if (message.includes('Max payload')) this.host.stats.dropped++;
    this.host.error(`agent media stream: ${message}`);
  }

  /** The bot's `media`, `mark` and `clear`; anything malformed is dropped and counted. */
  private fromBot(data: Buffer, isBinary: boolean): void {
    const message = isBinary ? null : parseJson(data.toString('utf8'));
    const { voice, stats } = this.host;
    switch (message?.event) {
      case 'media': {
        const payload = (message.media as { payload?: unknown } | undefined)?.payload;
        if (typeof payload !== 'string' || payload.length === 0 || !BASE64.test(payload)) break;
        voice.push(alawmulaw.mulaw.decode(Buffer.from(payload, 'base64')));
        stats.fromBot++;
        return;
      }
      case 'mark': {
        const name = (message.mark as { name?: unknown } | undefined)?.name;
        if (typeof name !== 'string') break;
        voice.mark(() => {
          if (this.ws.readyState === WebSocket.OPEN) this.send({ event: 'mark', mark: { name } });
        });
        return;
      }
      case 'clear':
        voice.clear();
        return;
    }
    stats.dropped++;
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
