// An OpenAI chat-completions fake (POST /v1/chat/completions), from OpenAI's API reference: `Authorization: Bearer <key>`
// (401 with an `invalid_api_key` error otherwise), `stream: true` answered with `chat.completion.chunk` server-sent events
// and `data: [DONE]`; each request's answer is scripted by the test (text deltas, tool calls, an HTTP error, a drop, a stall),
// optionally with a model's latency (time to the first token, then between tokens).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpFake, localUrl, readBody, sendJson } from './fake-server.js';

export interface ChatRequest {
  body: { model: string; messages: { role: string; content: string | null }[]; tools?: unknown[]; stream?: boolean };
  /** The client went away before the answer ended (a barge-in aborted it). */
  aborted: boolean;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

export interface ModelLatency {
  /** From the request to the first content delta (ms). */
  firstTokenMs?: number;
  /** Between deltas (ms). */
  tokenMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Answer =
  | { text: string[]; toolCalls?: { name: string; arguments: string }[] }
  | { status: number; code: string }
  | { dropAfter: string[] }
  /** Streams these deltas, then waits until the client aborts. */
  | { stall: string[] };

export class FakeOpenAi extends HttpFake {
  readonly requests: ChatRequest[] = [];
  private readonly answers: Answer[] = [];

  private constructor(
    private readonly apiKey: string,
    private readonly latency: ModelLatency,
  ) {
    super();
  }

  static async start(apiKey: string, latency: ModelLatency = {}): Promise<FakeOpenAi> {
    return new FakeOpenAi(apiKey, latency).listen();
  }

  /** The base URL, as an OpenAI client's `base_url`. */
  get url(): string {
    return localUrl(this.server, 'http', '/v1');
  }

  /** The answer to the next request (requests without a scripted answer get "OK."). */
  answer(answer: Answer): void {
    this.answers.push(answer);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      const shown = String(req.headers.authorization ?? '').slice(-4);
      return sendJson(res, 401, { error: { message: `Incorrect API key provided: ***${shown}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
    const request: ChatRequest = { body: JSON.parse(body.toString()) as ChatRequest['body'], aborted: false, receivedAt: performance.now() };
    this.requests.push(request);
    res.on('close', () => (request.aborted = !res.writableFinished));
    const answer = this.answers.shift() ?? { text: ['OK.'] };
    if ('status' in answer) {
      return sendJson(res, answer.status, { error: { message: 'scripted error', type: answer.code, param: null, code: answer.code } });
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const chunk = (delta: object, finish: string | null = null) =>
      res.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: request.body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    chunk({ role: 'assistant', content: '' });
    const { firstTokenMs = 0, tokenMs = 0 } = this.latency;
    const deltas = async (texts: string[]) => {
      for (const [i, text] of texts.entries()) {
        const wait = i === 0 ? firstTokenMs : tokenMs;
        if (wait > 0) await sleep(wait);
        if (res.destroyed) return;
        chunk({ content: text });
      }
    };
    if ('dropAfter' in answer) {
      await deltas(answer.dropAfter);
      return void res.write('', () => res.socket?.destroy()); // once the deltas are on the wire
    }
    if ('stall' in answer) return deltas(answer.stall); // then nothing until the client goes away
    await deltas(answer.text);
    if (res.destroyed) return;
    (answer.toolCalls ?? []).forEach((call, index) => {
      const half = Math.ceil(call.arguments.length / 2);
      chunk({ tool_calls: [{ index, id: `call_${index}`, type: 'function', function: { name: call.name, arguments: call.arguments.slice(0, half) } }] });
      chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(half) } }] });
    });
    chunk({}, answer.toolCalls?.length ? 'tool_calls' : 'stop');
    res.end('data: [DONE]\n\n');
  }
}
