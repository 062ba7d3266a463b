// OpenAI chat completions as the pipeline's dialogue: `POST {base}/chat/completions` with `stream: true` (server-sent
// events of deltas), the conversation kept per call, and tools to end the call, transfer it or send DTMF. Any
// OpenAI-compatible server (llama.cpp, vLLM, Ollama) works through the agent's base URL.
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { AgentAction, Dialogue, DialogueOutput } from '../../audio/pipeline.js';
import { defaultGreeting } from '../local/script.js';
import { postJson, serverSentEvents, VendorError, vendorUrl } from './wire.js';

const OPENAI = 'https://api.openai.com/v1';
const DEFAULT_MODEL = 'gpt-4o-mini';

type Message =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface ChunkChoice {
  delta?: { content?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] };
  finish_reason?: string | null;
}

/** The agent's tools, as OpenAI function definitions; what each does to the call is `toAction`. */
export const AGENT_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'end_call',
      description: 'Hang up the call, after you have said goodbye.',
      parameters: { type: 'object', properties: { reason: { type: 'string' } }, additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'transfer_call',
      description: 'Transfer the caller to an extension, a queue or an IVR menu, after telling them so.',
      parameters: { type: 'object', properties: { destination: { type: 'string', description: 'extension number, queue or IVR name' } }, required: ['destination'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'send_dtmf',
      description: 'Press keys on the phone keypad (for example to navigate an automated menu).',
      parameters: { type: 'object', properties: { digits: { type: 'string', pattern: '^[0-9*#A-D]{1,32}$' } }, required: ['digits'], additionalProperties: false },
    },
  },
] as const;

/** A tool call's effect on the call, or null when its name or arguments are not valid. */
export function toAction(name: string, args: string): AgentAction | null {
  let parsed: Record<string, unknown>;
  try {
    parsed = (JSON.parse(args || '{}') as Record<string, unknown>) ?? {};
  } catch {
    return null;
  }
  if (name === 'end_call') return { hangUp: 'the agent ended the call' };
  if (name === 'transfer_call' && typeof parsed.destination === 'string' && /^[\w@:.+-]{1,64}$/.test(parsed.destination)) return { transfer: parsed.destination };
  if (name === 'send_dtmf' && typeof parsed.digits === 'string' && /^[0-9*#A-D]{1,32}$/.test(parsed.digits)) return { dtmf: parsed.digits };
  return null;
}

export const systemPrompt = (agent: AgentSpec): string =>
  [
    `You are ${agent.name}, a voice agent answering a phone call. Speak in short plain sentences (no lists, no markdown): everything you write is read aloud.`,
    `Answer in the language with the BCP 47 tag "${agent.language}".`,
    agent.prompt ?? '',
  ]
    .filter(Boolean)
    .join('\n');

/** The system prompt for an API whose conversation must open with the caller: it tells the greeting already said. */
export const systemPromptAfterGreeting = (agent: AgentSpec): string => `${systemPrompt(agent)}\nYou have already greeted the caller with: "${defaultGreeting(agent)}"`;

export interface OpenAiOptions {
  apiKey: string | null;
  baseUrl: string | null;
  agent: AgentSpec;
}

export class OpenAiDialogue implements Dialogue {
  private readonly messages: Message[];

  constructor(private readonly opts: OpenAiOptions) {
    this.messages = [{ role: 'system', content: systemPrompt(opts.agent) }];
  }

  async *greet(): AsyncIterable<DialogueOutput> {
    const greeting = defaultGreeting(this.opts.agent);
    this.messages.push({ role: 'assistant', content: greeting });
    yield greeting;
  }

  async *respond(heard: string, signal: AbortSignal): AsyncIterable<DialogueOutput> {
    this.messages.push({ role: 'user', content: heard });
    let content = '';
    const calls: ToolCall[] = [];
    try {
      for await (const choice of this.complete(signal)) {
        const delta = choice.delta;
        if (delta?.content) {
          content += delta.content;
          yield delta.content;
        }
        for (const call of delta?.tool_calls ?? []) {
          const into = (calls[call.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
          into.id ||= call.id ?? '';
          into.function.name += call.function?.name ?? '';
          into.function.arguments += call.function?.arguments ?? '';
        }
      }
    } finally {
      // What was said (even cut short) stays in the conversation; tool calls only once complete.
      if (content || (calls.length > 0 && !signal.aborted)) this.messages.push({ role: 'assistant', content: content || null, ...(calls.length > 0 && !signal.aborted ? { tool_calls: calls } : {}) });
    }
    for (const call of calls) {
      const action = toAction(call.function.name, call.function.arguments);
      this.messages.push({ role: 'tool', tool_call_id: call.id, content: action ? 'done' : 'error: unknown tool or invalid arguments' });
      if (action) yield action;
    }
  }

  /** The streamed choices of one completion; a stream that ends before `[DONE]` (a dropped connection) is an error. */
  private async *complete(signal: AbortSignal): AsyncIterable<ChunkChoice> {
    const { apiKey, baseUrl, agent } = this.opts;
    const response = await postJson(
      'openai',
      vendorUrl(baseUrl, OPENAI, '/chat/completions'),
      { Accept: 'text/event-stream', ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
      { model: agent.llmModel ?? DEFAULT_MODEL, messages: this.messages, tools: AGENT_TOOLS, stream: true },
      signal,
    );
    let done = false;
    try {
      for await (const { data } of serverSentEvents(response.body!)) {
        // Read on to the body's end after [DONE]: a body left unread costs the connection its reuse (and the next request fails).
        if (done || (done = data === '[DONE]')) continue;
        const chunk = JSON.parse(data) as { choices?: ChunkChoice[]; error?: { type?: string } };
        if (chunk.error) throw new VendorError('openai', `stream error (${chunk.error.type ?? 'unknown'})`);
        if (chunk.choices?.[0]) yield chunk.choices[0];
      }
    } catch (err) {
      if (signal.aborted || err instanceof VendorError) throw err;
      throw new VendorError('openai', `the stream broke (${(err as Error).message})`);
    }
    if (done) return;
    throw new VendorError('openai', 'the stream ended before [DONE]');
  }
}
