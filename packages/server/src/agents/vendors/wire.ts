// What the vendor adapters share on the wire: base URLs, errors that never carry a secret, server-sent events, a message
// queue, a WebSocket connected ahead of need.
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
export class AsyncQueue<T> implements AsyncIterable<T> {
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

export const abortError = (): Error => Object.assign(new Error('aborted'), { name: 'AbortError' });

/**
 * A WebSocket connected ahead of need (a reply is coming: its TLS and WebSocket handshakes happen while the LLM thinks),
 * handed to the next synthesis; one idle longer than `maxIdleMs` (the vendor closes idle sockets) is replaced.
 */
export class SpareSocket {
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

/** Runs `send` once `ws` is open (at once when it already is: a spare). */
export function whenOpen(ws: WebSocket, send: () => void): void {
  if (ws.readyState === WebSocket.OPEN) send();
  else ws.once('open', send);
}
