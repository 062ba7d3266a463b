// A provider-neutral voice pipeline (pipecat-like): caller audio → VAD turn detection → SpeechToText → Dialogue → TextToSpeech → the voice,
// sentence by sentence, with barge-in. Vendor adapters (Deepgram, OpenAI, ElevenLabs…) implement the three interfaces below.
import type { AgentEngine, EngineHost } from './engine.js';
import type { VoiceDetector } from './vad.js';

/** Speech recognition of one utterance (16 kHz mono); '' when nothing was understood. Rejects when `signal` aborts. */
export interface SpeechToText {
  transcribe(pcm16k: Int16Array, signal: AbortSignal): Promise<string>;
}

/** Text to say (in pieces of any size: LLM tokens, sentences), or the decision to end the call once it has been said. */
export type DialogueOutput = string | { hangUp: string };

/** The "LLM" stage: what the agent says first, and its reply to each thing the caller said ('' when not understood). */
export interface Dialogue {
  greet(signal: AbortSignal): AsyncIterable<DialogueOutput>;
  respond(heard: string, signal: AbortSignal): AsyncIterable<DialogueOutput>;
}

/** Speech for one sentence, as chunks of mono audio at `sampleRate` (one chunk, or a stream). */
export interface TextToSpeech {
  readonly sampleRate: number;
  synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array>;
}

export interface PipelineParts {
  stt: SpeechToText;
  dialogue: Dialogue;
  tts: TextToSpeech;
  vad: VoiceDetector;
}

/** The caller starts speaking: this many voiced frames among the last ONSET_WINDOW (20 ms each). */
const ONSET_FRAMES = 4;
const ONSET_WINDOW = 6;
/** The caller's turn ends after this much silence (frames of 20 ms: 700 ms). */
const END_SILENCE_FRAMES = 35;
/** Audio kept from before the onset, so the utterance starts with its first syllable (300 ms). */
const PREROLL_FRAMES = 15;
/** An utterance longer than this (15 s) is cut and answered. */
const MAX_UTTERANCE_FRAMES = 750;

const isAbort = (err: unknown) => (err as Error)?.name === 'AbortError';

/** A reply being said: cancelled as a whole on barge-in. */
interface Reply {
  readonly controller: AbortController;
  finish(interrupted: boolean): void;
}

export class Pipeline implements AgentEngine {
  private readonly recent: { pcm: Int16Array; voiced: boolean }[] = [];
  private utterance: { frames: Int16Array[]; silent: number; at: string } | null = null;
  private reply: Reply | null = null;
  private closed = false;

  constructor(
    private readonly parts: PipelineParts,
    private readonly host: EngineHost,
  ) {}

  answered(): void {
    this.say((signal) => this.parts.dialogue.greet(signal));
  }

  dtmf(): void {}

  close(): void {
    this.closed = true;
    this.reply?.controller.abort();
    this.parts.vad.destroy();
  }

  hear(frame: Int16Array): void {
    if (this.closed) return;
    this.host.stats.toBot++;
    const voiced = this.parts.vad.isSpeech(frame);
    if (this.utterance) return this.continueUtterance(frame, voiced);
    this.recent.push({ pcm: frame, voiced });
    if (this.recent.length > PREROLL_FRAMES) this.recent.shift();
    if (this.recent.slice(-ONSET_WINDOW).filter((f) => f.voiced).length < ONSET_FRAMES) return;
    if (this.reply) this.bargeIn();
    this.utterance = { frames: this.recent.splice(0).map((f) => f.pcm), silent: 0, at: new Date().toISOString() };
  }

  private continueUtterance(frame: Int16Array, voiced: boolean): void {
    const utterance = this.utterance!;
    utterance.frames.push(frame);
    utterance.silent = voiced ? 0 : utterance.silent + 1;
    if (utterance.silent < END_SILENCE_FRAMES && utterance.frames.length < MAX_UTTERANCE_FRAMES) return;
    this.utterance = null;
    const pcm = new Int16Array(utterance.frames.length * frame.length);
    utterance.frames.forEach((f, i) => pcm.set(f, i * frame.length));
    const { stt, dialogue } = this.parts;
    const host = this.host;
    this.say(async function* (signal) {
      const heard = await stt.transcribe(pcm, signal);
      if (heard) host.turn({ role: 'user', text: heard, at: utterance.at });
      yield* dialogue.respond(heard, signal);
    });
  }

  /** The caller talks over the agent: its voice stops at once, its reply (dialogue, speech synthesis) is cancelled. */
  private bargeIn(): void {
    if (this.host.voice.playing) this.host.stats.bargeIns++;
    this.reply!.controller.abort();
    this.host.voice.clear();
    this.reply?.finish(true);
  }

  /** Says a reply: each sentence is synthesised and queued as soon as the dialogue has produced it. */
  private say(produce: (signal: AbortSignal) => AsyncIterable<DialogueOutput>): void {
    const controller = new AbortController();
    const { signal } = controller;
    const spoken: string[] = [];
    let at: string | null = null;
    let hangUp: string | null = null;
    let done = false;
    const reply: Reply = {
      controller,
      finish: (interrupted) => {
        if (done) return;
        done = true;
        if (this.reply === reply) this.reply = null;
        if (spoken.length > 0) this.host.turn({ role: 'agent', text: spoken.join(' '), at: at!, ...(interrupted ? { interrupted: true } : {}) });
        if (!interrupted && hangUp !== null && !this.closed) this.host.hangup(hangUp);
      },
    };
    this.reply = reply;
    let speaking = Promise.resolve();
    const speak = (sentence: string) => {
      speaking = speaking.then(() => this.speak(sentence, signal, () => {
        spoken.push(sentence);
        at ??= new Date().toISOString();
      }));
    };
    void (async () => {
      let text = '';
      for await (const out of produce(signal)) {
        if (typeof out !== 'string') {
          hangUp = out.hangUp;
          continue;
        }
        text += out;
        for (let end = sentenceEnd(text); end > 0; end = sentenceEnd(text)) {
          speak(text.slice(0, end).trim());
          text = text.slice(end);
        }
      }
      if (text.trim()) speak(text.trim());
      await speaking;
      if (signal.aborted) return reply.finish(true);
      this.host.voice.mark((cleared) => reply.finish(cleared));
    })().catch((err: unknown) => {
      reply.finish(true);
      if (!isAbort(err) && !this.closed) this.host.error(`agent pipeline: ${(err as Error).message}`);
    });
  }

  private async speak(sentence: string, signal: AbortSignal, started: () => void): Promise<void> {
    if (signal.aborted) return;
    const { voice, stats } = this.host;
    const frame = this.parts.tts.sampleRate / 50;
    let first = true;
    for await (const pcm of this.parts.tts.synthesize(sentence, signal)) {
      if (signal.aborted) return;
      if (first) voice.mark((cleared) => cleared || started());
      first = false;
      voice.push(pcm);
      stats.fromBot += Math.ceil(pcm.length / frame);
    }
  }
}

/** Where the first complete sentence of `text` ends (after its punctuation and the space that follows), or 0. */
function sentenceEnd(text: string): number {
  const match = /[.!?]+\s/.exec(text);
  return match ? match.index + match[0].length : 0;
}
