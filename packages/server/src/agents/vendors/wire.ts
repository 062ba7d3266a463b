// What the vendor adapters share on the wire: base URLs, JSON requests and answers, errors that never carry a secret,
// server-sent events, a WebSocket connected ahead of need, a sentence's audio streamed over a WebSocket.
import WebSocket from 'ws';

/** `base` (an agent's override, else the vendor's own) without a trailing slash, with `path` appended. */
export const vendorUrl = (base: string | null, fallback: string, path: string): string => `${(base ?? fallback).replace(/\/+$/, '')}${path}`;

/** A vendor failed: its name and what happened (a status, a code), never a key, a header or a response body that may echo one. */
export class VendorError extends Error {
  constructor(vendor: string, what: string) {
    super(`${vendor}: ${what}`);
    this.name = 'VendorError';
  }
}

/** `fetch` for a vendor: a network failure is a VendorError (its cause's code), an abort stays an abort, an error status is `httpError`. */
export async function vendorFetch(vendor: string, url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> {
  const response = await fetch(url, init).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    throw init.signal.aborted ? err : new VendorError(vendor, `the request failed (${typeof cause === 'string' ? cause : (err as Error).message})`);
  });
  if (!response.ok || !response.body) throw await httpError(vendor, response);
  return response;
}

/** A JSON `POST` to a vendor (vendorFetch): `headers` (its key, an Accept) on top of the JSON content type. */
export const postJson = (vendor: string, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): Promise<Response> =>
  vendorFetch(vendor, url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body), signal });

/** A vendor's JSON answer: a body that breaks off or is not JSON is a VendorError (`the ${what} broke off`), an abort stays an abort. */
export async function readJson<T>(vendor: string, response: Response, signal: AbortSignal, what: string): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch (err) {
    if (signal.aborted) throw err;
    throw new VendorError(vendor, `the ${what} broke off (${(err as Error).message})`);
  }
}

/**
 * An error response: its status, the error code of a JSON body (`error.code`, else `error.type`, else `error.status`:
 * OpenAI's, Anthropic's and Google's shapes; the body's message may quote the key, so it is never used) and, on 429/503,
 * when to retry (`retry-after`, else Google's RetryInfo `retryDelay`).
 */
export async function httpError(vendor: string, response: Response): Promise<VendorError> {
  let code = '';
  let retryDelay: string | null = null;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; type?: unknown; status?: unknown; details?: { retryDelay?: unknown }[] } };
    const found = [body.error?.code, body.error?.type, body.error?.status].find((c) => typeof c === 'string');
    if (typeof found === 'string' && /^[\w.-]{1,64}$/.test(found)) code = ` (${found})`;
    const delay = body.error?.details?.find((d) => typeof d?.retryDelay === 'string')?.retryDelay as string | undefined;
    retryDelay = delay && /^\d{1,6}(\.\d+)?s$/.test(delay) ? String(Math.ceil(parseFloat(delay))) : null;
  } catch {
    // not JSON: the status says it
  }
  const retryAfter = response.headers.get('retry-after')?.trim() ?? retryDelay;
  const retry = retryAfter && /^\d{1,6}$/.test(retryAfter) ? `, retry after ${retryAfter} s` : '';
  return new VendorError(vendor, `HTTP ${response.status}${code}${retry}`);
}

/** 16-bit little-endian PCM arriving in byte chunks of any length (a sample may straddle two chunks) as samples. */
export class Pcm16Chunker {
  private odd: Buffer | null = null;

  /** The whole samples so far (an empty array while only half a sample came). */
  push(chunk: Uint8Array): Int16Array {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.odd) bytes = Buffer.concat([this.odd, bytes]);
    this.odd = bytes.length % 2 ? Buffer.from(bytes.subarray(bytes.length - 1)) : null;
    const pcm = new Int16Array(bytes.length >> 1);
    Buffer.from(pcm.buffer).set(bytes.subarray(0, pcm.byteLength));
    return pcm;
  }
}

/** The events of a `text/event-stream` body (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncIterable<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let nl = buffer.search(/\r?\n|\r/); nl >= 0; nl = buffer.search(/\r?\n|\r/)) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? nl + 2 : nl + 1);
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        [event, data] = ['', []];
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
  }
}

/** Values pushed by callbacks (socket messages), pulled by an async iterator; `fail` makes the next pull throw. */
class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | null = null;
  private ended = false;
  private error: Error | null = null;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Ignored once ended (a socket closing after its last message). */
  fail(err: Error): void {
    if (this.ended) return;
    this.error ??= err;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) yield this.items.shift()!;
      else if (this.error) throw this.error;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}

const abortError = (): Error => Object.assign(new Error('aborted'), { name: 'AbortError' });

/**
 * A WebSocket connected ahead of need (a reply is coming: its TLS and WebSocket handshakes happen while the LLM thinks),
 * handed to the next synthesis; one idle longer than `maxIdleMs` (the vendor closes idle sockets) is replaced.
 */
class SpareSocket {
  private spare: { ws: WebSocket; since: number } | null = null;

  constructor(
    private readonly connect: () => WebSocket,
    private readonly maxIdleMs: number,
  ) {}

  /** Connects a spare unless one is ready or connecting. */
  warm(): void {
    if (this.usable()) return;
    this.close();
    const ws = this.connect();
    ws.on('error', () => undefined); // an idle spare's failure: the next take() connects anew and reports it
    this.spare = { ws, since: performance.now() };
  }

  /** The spare if it is still good, else a new connection. */
  take(): WebSocket {
    const spare = this.usable() ? this.spare!.ws : null;
    if (!spare) this.close();
    this.spare = null;
    return spare ?? this.connect();
  }

  /** Closes an unused spare (the call ended). */
  close(): void {
    this.spare?.ws.terminate();
    this.spare = null;
  }

  private usable(): boolean {
    const spare = this.spare;
    return spare !== null && (spare.ws.readyState === WebSocket.CONNECTING || spare.ws.readyState === WebSocket.OPEN) && performance.now() - spare.since < this.maxIdleMs;
  }
}

/** A text-to-speech on a WebSocket a sentence: the next one connected ahead (prewarm), kept unused `spareIdleMs` at the most. */
export abstract class SocketTts {
  private readonly sockets: SpareSocket;

  constructor(spareIdleMs: number) {
    this.sockets = new SpareSocket(() => this.connect(), spareIdleMs);
  }

  prewarm(): void {
    this.sockets.warm();
  }

  close(): void {
    this.sockets.close();
  }

  /** The sentence's socket: the spare if it is still good, else a new connection. */
  protected takeSocket(): WebSocket {
    return this.sockets.take();
  }

  protected abstract connect(): WebSocket;
}

/** What a socket synthesis' message handler does with the vendor's messages. */
export interface SynthesisSink {
  /** A base64 chunk of 16-bit little-endian PCM (a sample may straddle two chunks). */
  audio(base64: string): void;
  /** The sentence's audio is complete. */
  end(): void;
  fail(what: string): void;
}

/**
 * One sentence's audio over `ws` (a spare or a new socket): `send` once it is open (at once when it already is), each
 * text message parsed as JSON to `message`; a refused upgrade, a socket error or a close before the end fail it as a
 * VendorError, an abort as an AbortError. On the way out a still-open socket gets `closing` (a cancel) and a normal
 * close; one still connecting is terminated.
 */
export async function* socketSynthesis<M extends object>(
  vendor: string,
  ws: WebSocket,
  signal: AbortSignal,
  on: { send: () => void; message: (message: Partial<M>, sink: SynthesisSink) => void; closing?: () => void },
): AsyncIterable<Int16Array> {
  const chunks = new AsyncQueue<Int16Array>();
  const fail = (what: string) => chunks.fail(new VendorError(vendor, what));
  const abort = () => chunks.fail(abortError());
  signal.addEventListener('abort', abort, { once: true });
  const chunker = new Pcm16Chunker();
  const sink: SynthesisSink = {
    audio: (base64) => {
      const pcm = chunker.push(Buffer.from(base64, 'base64'));
      if (pcm.length > 0) chunks.push(pcm);
    },
    end: () => chunks.end(),
    fail,
  };
  if (ws.readyState === WebSocket.OPEN) on.send();
  else ws.once('open', on.send);
  ws.on('unexpected-response', (_req, res) => {
    fail(`the connection was refused (HTTP ${res.statusCode})`);
    res.resume();
    ws.terminate();
  });
  ws.on('message', (data, isBinary) => {
    let message: Partial<M>;
    try {
      message = isBinary ? {} : (JSON.parse(data.toString()) as Partial<M>);
    } catch {
      return;
    }
    on.message(message, sink);
  });
  ws.on('error', (err) => fail(err.message));
  ws.on('close', (code) => fail(`the connection closed before the audio was complete (${code})`));
  try {
    yield* chunks;
  } finally {
    signal.removeEventListener('abort', abort);
    ws.removeAllListeners('close');
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.OPEN) {
      on.closing?.();
      ws.close(1000);
    } else ws.terminate();
  }
}
