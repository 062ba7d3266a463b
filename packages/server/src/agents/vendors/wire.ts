// What the vendor adapters share on the wire: base URLs, errors that never carry a secret, server-sent events, a message queue.

/** `base` (an agent's override, else the vendor's own) without a trailing slash, with `path` appended. */
export const vendorUrl = (base: string | null, fallback: string, path: string): string => `${(base ?? fallback).replace(/\/+$/, '')}${path}`;

/** A vendor failed: its name and what happened (a status, a code), never a key, a header or a response body that may echo one. */
export class VendorError extends Error {
  constructor(vendor: string, what: string) {
    super(`${vendor}: ${what}`);
    this.name = 'VendorError';
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
