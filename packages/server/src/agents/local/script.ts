// The built-in scripted dialogue: a greeting, answers matched by key phrases, "Sorry…" when nothing matched, and goodbye → hang up.
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { Dialogue, DialogueOutput } from '../../audio/pipeline.js';
import { grammarWords } from './pocketsphinx.js';

export interface Intent {
  phrases: string[];
  answer: string;
  /** The agent ends the call once the answer has been said. */
  hangUp?: boolean;
}

const NOT_UNDERSTOOD = 'Sorry, I did not catch that. You can ask about our opening hours, our prices, or about Astral.';

const DEFAULT_INTENTS: Intent[] = [
  {
    phrases: ['opening hours', 'what are your opening hours', 'when are you open', 'hours'],
    answer: 'We are open from nine in the morning to six in the evening, Monday to Friday.',
  },
  {
    phrases: ['price', 'pricing', 'how much does it cost', 'how much'],
    answer: 'Astral is free and open source. You only pay for the server you run it on.',
  },
  {
    phrases: ['tell me about astral', 'about astral', 'about'],
    answer:
      'Astral is self hosted calling in the browser. A website adds one script tag and a phone element, and its visitors place and take real voice calls. ' +
      'One Node process runs the programming interface, the signaling and a media server. ' +
      'Calls can reach the telephone network through SIP trunks, and every call can be recorded. ' +
      'Operators see the call history, the live calls and statistics on a dashboard. ' +
      'And voice agents like me can answer calls, listen, and reply, without sending your audio anywhere.',
  },
  { phrases: ['hello', 'hi'], answer: 'Hello! You can ask me about our opening hours, our prices, or about Astral.' },
  { phrases: ['goodbye', 'bye', 'that is all'], answer: 'Goodbye, thank you for calling.', hangUp: true },
];

/**
 * An agent's `prompt` adds intents, one per line: `phrase | another phrase => answer` (a line without `=>` is ignored, so
 * a prompt written for an LLM agent does no harm). Its intents are matched before the built-in ones.
 */
export function parsePromptIntents(prompt: string | null): Intent[] {
  const intents: Intent[] = [];
  for (const line of (prompt ?? '').split('\n')) {
    const at = line.indexOf('=>');
    if (at < 0) continue;
    const phrases = line.slice(0, at).split('|').map(grammarWords).filter(Boolean);
    const answer = line.slice(at + 2).trim();
    if (phrases.length > 0 && answer) intents.push({ phrases, answer });
  }
  return intents;
}

/** The agent's greeting as the local engines say it by default. */
export const defaultGreeting = (agent: AgentSpec): string => agent.greeting ?? `Hello, this is ${agent.name}. How can I help you?`;

/** The scripted dialogue of an agent: its greeting and its prompt's intents. */
export const agentScript = (agent: AgentSpec): ScriptedDialogue => new ScriptedDialogue(defaultGreeting(agent), agent.prompt);

export class ScriptedDialogue implements Dialogue {
  readonly intents: Intent[];

  constructor(
    private readonly greeting: string,
    prompt: string | null,
  ) {
    this.intents = [...parsePromptIntents(prompt), ...DEFAULT_INTENTS];
  }

  /** Every phrase the caller can be understood saying (the recogniser's grammar). */
  phrases(): string[] {
    return this.intents.flatMap((i) => i.phrases);
  }

  async *greet(): AsyncIterable<DialogueOutput> {
    yield this.greeting;
  }

  async *respond(heard: string): AsyncIterable<DialogueOutput> {
    const intent = this.match(grammarWords(heard));
    yield intent?.answer ?? NOT_UNDERSTOOD;
    if (intent?.hangUp) yield { hangUp: 'the agent said goodbye' };
  }

  /** The intent with the longest phrase found (as whole words) in what was heard. */
  private match(heard: string): Intent | null {
    let best: { intent: Intent; length: number } | null = null;
    for (const intent of this.intents)
      for (const phrase of intent.phrases)
        if (` ${heard} `.includes(` ${phrase} `) && phrase.length > (best?.length ?? 0)) best = { intent, length: phrase.length };
    return best?.intent ?? null;
  }
}
