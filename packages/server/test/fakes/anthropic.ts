// An Anthropic Messages API fake (POST /v1/messages), from Anthropic's API reference: `x-api-key` (401
// `authentication_error` otherwise) and `anthropic-version` (400 without it) checked; `stream: true` answered with the
// documented events (message_start, content_block_start/delta/stop with text_delta or input_json_delta, message_delta,
// message_stop). Scripted per request: text and tool calls, an HTTP error (with retry-after), an `error` event mid-stream,
// a dropped connection, a stall.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpFake, localUrl, readBody, sendJson } from './fake-server.js';

export interface MessagesRequest {
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    max_tokens: number;
    system?: string;
    stream?: boolean;
    tools?: { name: string; description?: string; input_schema: unknown }[];
    messages: { role: 'user' | 'assistant'; content: string | { type: string; text?: string; id?: string; tool_use_id?: string; name?: string; input?: unknown }[] }[];
  };
  aborted: boolean;
}

export type AnthropicAnswer =
  | { text: string[]; toolCalls?: { name: string; input: string }[] }
  | { status: number; type: string; retryAfter?: number }
  | { streamError: string; after: string[] }
  | { dropAfter: string[] }
  | { stall: string[] };

export class FakeAnthropic extends HttpFake {
  readonly requests: MessagesRequest[] = [];
  private readonly answers: AnthropicAnswer[] = [];

  private constructor(private readonly apiKey: string) {
    super();
  }

  static async start(apiKey: string): Promise<FakeAnthropic> {
    return new FakeAnthropic(apiKey).listen();
  }

  /** The base URL (the API's root, without /v1), as an Anthropic client's `baseURL`. */
  get url(): string {
    return localUrl(this.server, 'http');
  }

  answer(answer: AnthropicAnswer): void {
    this.answers.push(answer);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/messages') return void res.writeHead(404).end();
    const body = await readBody(req);
    const error = (status: number, type: string, headers: Record<string, string> = {}) =>
      sendJson(res, status, { type: 'error', error: { type, message: `scripted ${type} for key ${String(req.headers['x-api-key'])}` } }, headers);
    if (req.headers['x-api-key'] !== this.apiKey) return error(401, 'authentication_error');
    if (req.headers['anthropic-version'] !== '2023-06-01') return error(400, 'invalid_request_error');
    const request: MessagesRequest = { headers: req.headers, body: JSON.parse(body.toString()) as MessagesRequest['body'], aborted: false };
    if (typeof request.body.max_tokens !== 'number' || request.body.messages[0]?.role !== 'user') return error(400, 'invalid_request_error');
    this.requests.push(request);
    res.on('close', () => (request.aborted = !res.writableFinished));
    const answer = this.answers.shift() ?? { text: ['OK.'] };
    if ('status' in answer) return error(answer.status, answer.type, answer.retryAfter ? { 'retry-after': String(answer.retryAfter) } : {});
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const event = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event('message_start', { message: { id: 'msg_fake', type: 'message', role: 'assistant', content: [], model: request.body.model, stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } });
    event('ping', {});
    const textBlock = (texts: string[]) => {
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      for (const text of texts) event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
    };
    if ('dropAfter' in answer) {
      textBlock(answer.dropAfter);
      return void res.write('', () => res.socket?.destroy());
    }
    if ('stall' in answer) return void textBlock(answer.stall);
    if ('streamError' in answer) {
      textBlock(answer.after);
      event('error', { error: { type: answer.streamError, message: 'scripted' } });
      return void res.end();
    }
    textBlock(answer.text);
    event('content_block_stop', { index: 0 });
    (answer.toolCalls ?? []).forEach((call, i) => {
      const index = i + 1;
      event('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_${index}`, name: call.name, input: {} } });
      const half = Math.ceil(call.input.length / 2);
      for (const part of [call.input.slice(0, half), call.input.slice(half)]) event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } });
      event('content_block_stop', { index });
    });
    event('message_delta', { delta: { stop_reason: answer.toolCalls?.length ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
    event('message_stop', {});
    res.end();
  }
}
