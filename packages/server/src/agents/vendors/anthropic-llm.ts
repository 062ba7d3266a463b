// Anthropic Messages API as the pipeline's dialogue: `POST {base}/v1/messages` with `stream: true` (server-sent events:
// message_start, content_block_start/delta/stop, message_delta, message_stop, error), the conversation kept per call,
// and the agent's tools (end the call, transfer it, send DTMF) as Anthropic tools.
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { Dialogue, DialogueOutput } from '../../audio/pipeline.js';
import { defaultGreeting } from '../local/script.js';
import { AGENT_TOOLS, systemPromptAfterGreeting, toAction } from './openai-llm.js';
import { postJson, serverSentEvents, VendorError, vendorUrl } from './wire.js';

const ANTHROPIC = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';
const DEFAULT_MODEL = 'claude-haiku-4-5';
/** Spoken replies are short; this bounds a runaway one. */
const MAX_TOKENS = 1024;
/** What the caller "said" when the recogniser understood nothing (the API refuses empty text). */
export const NOT_UNDERSTOOD = '(inaudible)';

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

interface Message {
  role: 'user' | 'assistant';
  content: Block[];
}

/** The agent's tools in Anthropic's shape (the same definitions the OpenAI adapter sends). */
const TOOLS = AGENT_TOOLS.map(({ function: f }) => ({ name: f.name, description: f.description, input_schema: f.parameters }));

type StreamEvent =
  | { type: 'content_block_start'; index: number; content_block: { type: string; id?: string; name?: string } }
  | { type: 'content_block_delta'; index: number; delta: { type: string; text?: string; partial_json?: string } }
  | { type: 'message_stop' }
  | { type: 'error'; error?: { type?: unknown } }
  | { type: 'message_start' | 'content_block_stop' | 'message_delta' | 'ping' };

export interface AnthropicOptions {
  apiKey: string | null;
  baseUrl: string | null;
  agent: AgentSpec;
}

export class AnthropicDialogue implements Dialogue {
  private readonly messages: Message[] = [];
  private readonly system: string;

  constructor(private readonly opts: AnthropicOptions) {
    // The conversation must open with the caller, so the greeting is told in the system prompt.
    this.system = systemPromptAfterGreeting(opts.agent);
  }

  async *greet(): AsyncIterable<DialogueOutput> {
    yield defaultGreeting(this.opts.agent);
  }

  async *respond(heard: string, signal: AbortSignal): AsyncIterable<DialogueOutput> {
    this.addUser({ type: 'text', text: heard.trim() || NOT_UNDERSTOOD });
    let text = '';
    const calls: { id: string; name: string; json: string }[] = [];
    const blocks = new Map<number, { id: string; name: string; json: string }>();
    try {
      for await (const event of this.stream(signal)) {
        if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          const call = { id: event.content_block.id ?? '', name: event.content_block.name ?? '', json: '' };
          blocks.set(event.index, call);
          calls.push(call);
        } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta' && event.delta.text) {
          text += event.delta.text;
          yield event.delta.text;
        } else if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
          const call = blocks.get(event.index);
          if (call) call.json += event.delta.partial_json ?? '';
        }
      }
    } finally {
      // What was said (even cut short) stays in the conversation; tool calls only once complete.
      const complete = !signal.aborted ? calls : [];
      const content: Block[] = [...(text.trim() ? [{ type: 'text' as const, text: text.trimEnd() }] : []), ...complete.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: parseInput(c.json) }))];
      if (content.length > 0) this.messages.push({ role: 'assistant', content });
    }
    for (const call of calls) {
      const action = toAction(call.name, call.json);
      this.addUser({ type: 'tool_result', tool_use_id: call.id, content: action ? 'done' : 'error: unknown tool or invalid arguments', ...(action ? {} : { is_error: true }) });
      if (action) yield action;
    }
  }

  /** A user turn; consecutive user blocks (a tool result, then the caller's words; a reply lost to barge-in) share one message. */
  private addUser(block: Block): void {
    const last = this.messages.at(-1);
    if (last?.role === 'user') last.content.push(block);
    else this.messages.push({ role: 'user', content: [block] });
  }

  /** The events of one streamed message; a stream that ends before `message_stop` (a dropped connection) is an error. */
  private async *stream(signal: AbortSignal): AsyncIterable<StreamEvent> {
    const { apiKey, baseUrl, agent } = this.opts;
    const response = await postJson(
      'anthropic',
      vendorUrl(baseUrl, ANTHROPIC, '/v1/messages'),
      { Accept: 'text/event-stream', 'anthropic-version': API_VERSION, ...(apiKey ? { 'x-api-key': apiKey } : {}) },
      { model: agent.llmModel ?? DEFAULT_MODEL, max_tokens: MAX_TOKENS, system: this.system, messages: this.messages, tools: TOOLS, stream: true },
      signal,
    );
    let stopped = false;
    try {
      for await (const { data } of serverSentEvents(response.body!)) {
        // Read on to the body's end: a body left unread costs the connection its reuse.
        if (stopped) continue;
        const event = JSON.parse(data) as StreamEvent;
        if (event.type === 'error') {
          const type = event.error?.type;
          throw new VendorError('anthropic', `stream error (${typeof type === 'string' && /^[\w.-]{1,64}$/.test(type) ? type : 'unknown'})`);
        }
        stopped = event.type === 'message_stop';
        yield event;
      }
    } catch (err) {
      if (signal.aborted || err instanceof VendorError) throw err;
      throw new VendorError('anthropic', `the stream broke (${(err as Error).message})`);
    }
    if (!stopped) throw new VendorError('anthropic', 'the stream ended before message_stop');
  }
}

/** A tool call's input (the concatenated `partial_json`); `{}` when empty or malformed. */
function parseInput(json: string): unknown {
  try {
    return json ? JSON.parse(json) : {};
  } catch {
    return {};
  }
}
