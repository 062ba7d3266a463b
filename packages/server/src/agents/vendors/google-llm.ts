// Google Gemini as the pipeline's dialogue: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse` with the
// key in `x-goog-api-key` (server-sent events, each a GenerateContentResponse; the last has a finishReason), the
// conversation kept per call as user/model contents, and the agent's tools as function declarations.
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { Dialogue, DialogueOutput } from '../../audio/pipeline.js';
import { defaultGreeting } from '../local/script.js';
import { NOT_UNDERSTOOD } from './anthropic-llm.js';
import { AGENT_TOOLS, systemPromptAfterGreeting, toAction } from './openai-llm.js';
import { postJson, serverSentEvents, VendorError, vendorUrl } from './wire.js';

const GEMINI = 'https://generativelanguage.googleapis.com';
const DEFAULT_MODEL = 'gemini-2.5-flash';
/** The JSON Schema keywords Gemini's `Schema` (an OpenAPI subset) takes; others (additionalProperties, pattern) are dropped. */
const SCHEMA_KEYWORDS = new Set(['type', 'format', 'title', 'description', 'nullable', 'enum', 'properties', 'required', 'items', 'minItems', 'maxItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'anyOf']);

/** A part of a content; a model's parts go back into the history as they came (a functionCall's thoughtSignature too). */
type Part = { text: string } | { functionCall: { name?: string; args?: unknown; id?: string }; thoughtSignature?: string } | { functionResponse: { name: string; id?: string; response: { result: string } } };

interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

interface StreamChunk {
  candidates?: { content?: { parts?: Record<string, unknown>[] }; finishReason?: string }[];
  promptFeedback?: { blockReason?: string };
  error?: { status?: unknown };
}

/** A JSON schema as Gemini accepts it: only the keywords it knows, recursively. */
export function geminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(geminiSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!SCHEMA_KEYWORDS.has(key)) continue;
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as object).map(([name, s]) => [name, geminiSchema(s)]));
    else out[key] = key === 'items' || key === 'anyOf' ? geminiSchema(value) : value;
  }
  return out;
}

/** The agent's tools (the definitions the OpenAI adapter sends) as Gemini function declarations. */
const TOOLS = [{ functionDeclarations: AGENT_TOOLS.map(({ function: f }) => ({ name: f.name, description: f.description, parameters: geminiSchema(f.parameters) })) }];

export interface GoogleLlmOptions {
  apiKey: string | null;
  baseUrl: string | null;
  agent: AgentSpec;
}

export class GoogleDialogue implements Dialogue {
  private readonly contents: Content[] = [];
  private readonly system: string;

  constructor(private readonly opts: GoogleLlmOptions) {
    // The contents open with the caller, so the greeting is told in the system instruction.
    this.system = systemPromptAfterGreeting(opts.agent);
  }

  async *greet(): AsyncIterable<DialogueOutput> {
    yield defaultGreeting(this.opts.agent);
  }

  async *respond(heard: string, signal: AbortSignal): AsyncIterable<DialogueOutput> {
    this.addUser({ text: heard.trim() || NOT_UNDERSTOOD });
    let text = '';
    const calls: Extract<Part, { functionCall: unknown }>[] = [];
    try {
      for await (const part of this.stream(signal)) {
        if (typeof part.text === 'string' && part.text && part.thought !== true) {
          text += part.text;
          yield part.text;
        } else if (typeof part.functionCall === 'object' && part.functionCall !== null) calls.push(part as Extract<Part, { functionCall: unknown }>);
      }
    } finally {
      // What was said (even cut short) stays in the conversation; function calls only once complete.
      const parts: Part[] = [...(text.trim() ? [{ text: text.trimEnd() }] : []), ...(signal.aborted ? [] : calls)];
      if (parts.length > 0) this.contents.push({ role: 'model', parts });
    }
    for (const { functionCall: call } of calls) {
      const name = typeof call.name === 'string' ? call.name : '';
      const action = toAction(name, JSON.stringify(call.args ?? {}));
      this.addUser({ functionResponse: { name, ...(typeof call.id === 'string' ? { id: call.id } : {}), response: { result: action ? 'done' : 'error: unknown tool or invalid arguments' } } });
      if (action) yield action;
    }
  }

  /** A user turn; consecutive user parts (function responses, then the caller's words; a reply lost to barge-in) share one content. */
  private addUser(part: Part): void {
    const last = this.contents.at(-1);
    if (last?.role === 'user') last.parts.push(part);
    else this.contents.push({ role: 'user', parts: [part] });
  }

  /** The parts of one streamed answer; a stream that ends before a finishReason (a dropped connection) is an error. */
  private async *stream(signal: AbortSignal): AsyncIterable<Record<string, unknown>> {
    const { apiKey, baseUrl, agent } = this.opts;
    const model = agent.llmModel && /^[\w.-]{1,64}$/.test(agent.llmModel) ? agent.llmModel : DEFAULT_MODEL;
    const response = await postJson(
      'google',
      vendorUrl(baseUrl, GEMINI, `/v1beta/models/${model}:streamGenerateContent?alt=sse`),
      { Accept: 'text/event-stream', ...(apiKey ? { 'x-goog-api-key': apiKey } : {}) },
      { system_instruction: { parts: [{ text: this.system }] }, contents: this.contents, tools: TOOLS },
      signal,
    );
    let finished = false;
    try {
      for await (const { data } of serverSentEvents(response.body!)) {
        // Read on to the body's end: a body left unread costs the connection its reuse.
        if (finished) continue;
        const chunk = JSON.parse(data) as StreamChunk;
        if (chunk.error) {
          const status = chunk.error.status;
          throw new VendorError('google', `stream error (${typeof status === 'string' && /^[\w.-]{1,64}$/.test(status) ? status : 'unknown'})`);
        }
        // A blocked prompt has no candidates: nothing is said.
        if (chunk.promptFeedback?.blockReason) finished = true;
        const candidate = chunk.candidates?.[0];
        for (const part of candidate?.content?.parts ?? []) yield part;
        if (candidate?.finishReason) finished = true;
      }
    } catch (err) {
      if (signal.aborted || err instanceof VendorError) throw err;
      throw new VendorError('google', `the stream broke (${(err as Error).message})`);
    }
    if (!finished) throw new VendorError('google', 'the stream ended before a finishReason');
  }
}
