// Deepgram live speech-to-text: 16 kHz linear16 audio over WebSocket (`/v1/listen`), interim and final `Results` back,
// `speech_final` (endpointing) or `UtteranceEnd` ending the caller's turn, `CloseStream` at the end.
import WebSocket from 'ws';
import type { SpeechStream, StreamingSpeechToText, TranscriptListener } from '../../audio/pipeline.js';
import { VendorError, vendorUrl } from './wire.js';

const DEEPGRAM = 'wss://api.deepgram.com';
const CONNECT_TIMEOUT_MS = 5000;
/** Audio kept while the socket connects (5 s of 20 ms frames); older frames are dropped. */
const MAX_PENDING_FRAMES = 250;
/** Silence that ends a turn (endpointing), and the gap after the last word that ends it anyway (utterance end). */
const ENDPOINTING_MS = 300;
const UTTERANCE_END_MS = 1000;

export interface DeepgramOptions {
  apiKey: string | null;
  baseUrl: string | null;
  /** BCP 47. */
  language: string;
  model?: string;
}

export class DeepgramStt implements StreamingSpeechToText {
  constructor(private readonly opts: DeepgramOptions) {}

  open(listener: TranscriptListener): SpeechStream {
    const query = new URLSearchParams({
      model: this.opts.model ?? 'nova-3',
      language: this.opts.language,
      encoding: 'linear16',
      sample_rate: '16000',
      channels: '1',
      interim_results: 'true',
      punctuate: 'true',
      endpointing: String(ENDPOINTING_MS),
      utterance_end_ms: String(UTTERANCE_END_MS),
    });
    const headers: Record<string, string> = this.opts.apiKey ? { Authorization: `Token ${this.opts.apiKey}` } : {};
    return new DeepgramStream(vendorUrl(this.opts.baseUrl, DEEPGRAM, `/v1/listen?${query}`), headers, listener);
  }
}

interface Results {
  type: 'Results';
  is_final?: boolean;
  speech_final?: boolean;
  channel?: { alternatives?: { transcript?: string }[] };
}

class DeepgramStream implements SpeechStream {
  private readonly ws: WebSocket;
  private pending: Buffer[] = [];
  private done = false;

  constructor(
    url: string,
    headers: Record<string, string>,
    private readonly listener: TranscriptListener,
  ) {
    this.ws = new WebSocket(url, { headers, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 1 << 20 });
    this.ws.on('open', () => {
      for (const frame of this.pending) this.ws.send(frame);
      this.pending = [];
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.fail(`the connection was refused (HTTP ${res.statusCode})`);
      res.resume();
      this.ws.terminate();
    });
    this.ws.on('message', (data, isBinary) => !isBinary && this.message(data.toString()));
    this.ws.on('error', (err) => this.fail(err.message));
    this.ws.on('close', (code) => this.fail(`the connection closed (${code})`));
  }

  send(frame: Int16Array): void {
    if (this.done) return;
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
    else if (this.ws.readyState === WebSocket.CONNECTING && this.pending.push(Buffer.from(bytes)) > MAX_PENDING_FRAMES) this.pending.shift();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    if (this.ws.readyState !== WebSocket.OPEN) return this.ws.terminate();
    this.ws.send(JSON.stringify({ type: 'CloseStream' }));
    // Deepgram answers CloseStream with its last results and closes; nobody listens any more, so do not wait long.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private message(text: string): void {
    if (this.done) return;
    let message: Results | { type: 'UtteranceEnd' } | { type?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.type === 'UtteranceEnd') return this.listener.final('', true);
    if (message.type !== 'Results') return; // Metadata, SpeechStarted
    const result = message as Results;
    const transcript = result.channel?.alternatives?.[0]?.transcript ?? '';
    if (result.is_final) this.listener.final(transcript, result.speech_final === true);
    else this.listener.partial(transcript);
  }

  private fail(what: string): void {
    if (this.done) return;
    this.done = true;
    this.ws.terminate();
    this.listener.error(new VendorError('deepgram', what));
  }
}
