// A provider-neutral voice pipeline (pipecat-like): caller audio → turn detection → SpeechToText → Dialogue → TextToSpeech → the voice,
// sentence by sentence as the dialogue streams, with barge-in. Vendor adapters (agents/vendors/) implement the interfaces below.
import type { AgentEngine, EngineHost } from './engine.js';
import type { VoiceDetector } from './vad.js';

/** Speech recognition of one utterance (16 kHz mono); '' when nothing was understood. Rejects when `signal` aborts. */
export interface SpeechToText {
  transcribe(pcm16k: Int16Array, signal: AbortSignal): Promise<string>;
}

/** What a live recognition stream reports: interim text, final text (`endOfTurn`: the caller stopped talking), a failure. */
export interface TranscriptListener {
  partial(text: string): void;
  final(text: string, endOfTurn: boolean): void;
  error(err: Error): void;
}

/** A live recognition stream of the whole call, fed every 20 ms frame (16 kHz mono); it decides where a turn ends. */
export interface SpeechStream {
  send(frame: Int16Array): void;
  close(): void;
}

/** Streaming speech recognition (Deepgram live…): partial and final transcripts while the caller speaks. */
export interface StreamingSpeechToText {
  open(listener: TranscriptListener): SpeechStream;
}

/** What the agent does besides talking, once the text before it has been said: end the call, transfer it, send digits. */
export type AgentAction = { hangUp: string } | { transfer: string } | { dtmf: string };

/** Text to say (in pieces of any size: LLM tokens, sentences), or an action. */
export type DialogueOutput = string | AgentAction;

/** The "LLM" stage: what the agent says first, and its reply to each thing the caller said ('' when not understood). */
export interface Dialogue {
  greet(signal: AbortSignal): AsyncIterable<DialogueOutput>;
  respond(heard: string, signal: AbortSignal): AsyncIterable<DialogueOutput>;
}

/** Speech for one sentence, as chunks of mono audio at `sampleRate` (one chunk, or a stream). */
export interface TextToSpeech {
  readonly sampleRate: number;
  synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array>;
  /** A sentence is coming: connect ahead (a WebSocket vendor), so its synthesis does not wait for the handshake. */
  prewarm?(): void;
  /** The call ended: release what prewarm kept. */
  close?(): void;
}

export interface PipelineParts {
  stt: SpeechToText | StreamingSpeechToText;
  dialogue: Dialogue;
  tts: TextToSpeech;
  vad: VoiceDetector;
  /** Said (at `tts.sampleRate`) when a stage fails mid-call, before the agent hangs up; without it the call just ends. */
  apology?: { text: string; tts: TextToSpeech };
}

/** The caller starts speaking: this many voiced frames among the last ONSET_WINDOW (20 ms each). */
const ONSET_FRAMES = 4;
const ONSET_WINDOW = 6;
/** The caller's turn ends after this much silence (frames of 20 ms: 700 ms), when the recogniser is not streaming. */
const END_SILENCE_FRAMES = 35;
/** Audio kept from before the onset, so the utterance starts with its first syllable (300 ms). */
const PREROLL_FRAMES = 15;
/** An utterance longer than this (15 s) is cut and answered. */
const MAX_UTTERANCE_FRAMES = 750;

const isAbort = (err: unknown) => (err as Error)?.name === 'AbortError';
const isStreaming = (stt: PipelineParts['stt']): stt is StreamingSpeechToText => 'open' in stt;

/** A reply being said: cancelled as a whole on barge-in. */
interface Reply {
  readonly controller: AbortController;
  finish(interrupted: boolean): void;
}

export class Pipeline implements AgentEngine {
  private readonly recent: { pcm: Int16Array; voiced: boolean }[] = [];
  /** Utterance recognition: the caller's frames since the onset. */
  private utterance: { frames: Int16Array[]; silent: number; at: string } | null = null;
  /** Streaming recognition: the live stream, and the final text of the turn so far. */
  private stream: SpeechStream | null = null;
  private heard: { text: string; at: string } | null = null;
  private reply: Reply | null = null;
  /**
   * The caller's speech may still be going on (for the VAD) when a reply starts: its hangover after the last word, which a
   * fast recogniser ends the turn within (Deepgram's endpointing can be 10 ms). That is no barge-in: onsets count again
   * from the first silent frame.
   */
  private carryOver = false;
  private failed = false;
  private closed = false;

  constructor(
    private readonly parts: PipelineParts,
    private readonly host: EngineHost,
  ) {}

  answered(): void {
    const { stt } = this.parts;
    if (isStreaming(stt)) this.stream = stt.open({ partial: (text) => this.partial(text), final: (text, end) => this.final(text, end), error: (err) => this.fail(err) });
    this.say((signal) => this.parts.dialogue.greet(signal));
  }

  dtmf(): void {}

  close(): void {
    this.closed = true;
    this.reply?.controller.abort();
    this.stream?.close();
    this.parts.tts.close?.();
    this.parts.vad.destroy();
  }

  hear(frame: Int16Array): void {
    if (this.closed || this.failed) return;
    this.host.stats.toBot++;
    this.stream?.send(frame);
    const voiced = this.parts.vad.isSpeech(frame);
    if (this.utterance) return this.continueUtterance(frame, voiced);
    if (this.carryOver) {
      if (voiced) return;
      this.carryOver = false;
      this.recent.length = 0;
    }
    this.recent.push({ pcm: frame, voiced });
    if (this.recent.length > PREROLL_FRAMES) this.recent.shift();
    if (this.recent.slice(-ONSET_WINDOW).filter((f) => f.voiced).length < ONSET_FRAMES) return;
    if (this.reply) this.bargeIn();
    const at = new Date().toISOString();
    if (this.stream) {
      this.heard ??= { text: '', at };
      this.recent.length = 0;
    } else this.utterance = { frames: this.recent.splice(0).map((f) => f.pcm), silent: 0, at };
  }

  private continueUtterance(frame: Int16Array, voiced: boolean): void {
    const utterance = this.utterance!;
    utterance.frames.push(frame);
    utterance.silent = voiced ? 0 : utterance.silent + 1;
    if (utterance.silent < END_SILENCE_FRAMES && utterance.frames.length < MAX_UTTERANCE_FRAMES) return;
    this.utterance = null;
    const pcm = new Int16Array(utterance.frames.length * frame.length);
    utterance.frames.forEach((f, i) => pcm.set(f, i * frame.length));
    const stt = this.parts.stt as SpeechToText;
    const { dialogue } = this.parts;
    const host = this.host;
    this.say(async function* (signal) {
      const heard = await stt.transcribe(pcm, signal);
      if (heard) host.turn({ role: 'user', text: heard, at: utterance.at });
      yield* dialogue.respond(heard, signal);
    });
  }

  /** Interim words while the agent talks are a barge-in too (speech the VAD missed, or heard before it). */
  private partial(text: string): void {
    if (this.closed || this.failed || !text.trim()) return;
    this.heard ??= { text: '', at: new Date().toISOString() };
    if (this.reply) this.bargeIn();
  }

  /** Final words are gathered until the recogniser says the turn ended; then the dialogue answers them. */
  private final(text: string, endOfTurn: boolean): void {
    if (this.closed || this.failed) return;
    if (text.trim()) {
      this.heard ??= { text: '', at: new Date().toISOString() };
      this.heard.text = `${this.heard.text} ${text.trim()}`.trim();
      if (this.reply) this.bargeIn();
    }
    if (!endOfTurn || !this.heard?.text) return;
    const { text: heard, at } = this.heard;
    this.heard = null;
    this.host.turn({ role: 'user', text: heard, at });
    this.say((signal) => this.parts.dialogue.respond(heard, signal));
  }

  /** The caller talks over the agent: its voice stops at once, its reply (dialogue, speech synthesis) is cancelled. */
  private bargeIn(): void {
    if (this.host.voice.playing) this.host.stats.bargeIns++;
    this.reply!.controller.abort();
    this.host.voice.clear();
    this.reply?.finish(true);
  }

  /** A stage failed mid-call: the agent apologises (if it can) and the call ends, never left silent. */
  private fail(err: Error): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.reply?.controller.abort();
    this.host.voice.clear();
    this.reply?.finish(true);
    const report = () => {
      if (!this.closed) this.host.error(`agent pipeline: ${err.message}`);
    };
    const apology = this.parts.apology;
    if (!apology) return report();
    void this.speak(apology.tts, apology.text, new AbortController().signal, () => undefined)
      .catch(() => undefined)
      .then(() => this.host.voice.mark(report));
  }

  /** Says a reply: each sentence is synthesised and queued as soon as the dialogue has produced it. */
  private say(produce: (signal: AbortSignal) => AsyncIterable<DialogueOutput>): void {
    this.carryOver = true;
    const controller = new AbortController();
    const { signal } = controller;
    const spoken: string[] = [];
    let at: string | null = null;
    const actions: AgentAction[] = [];
    let done = false;
    const reply: Reply = {
      controller,
      finish: (interrupted) => {
        if (done) return;
        done = true;
        if (this.reply === reply) this.reply = null;
        if (spoken.length > 0) this.host.turn({ role: 'agent', text: spoken.join(' '), at: at!, ...(interrupted ? { interrupted: true } : {}) });
        if (!interrupted && !this.closed) for (const action of actions) this.act(action);
      },
    };
    this.reply = reply;
    // The first sentence's speech connects while the reply is worked out; each next one while the one before is synthesised.
    this.parts.tts.prewarm?.();
    let speaking = Promise.resolve();
    const speak = (sentence: string) => {
      this.parts.tts.prewarm?.();
      // A synthesis failing while the dialogue still streams fails the reply at once; a barge-in's abort is no failure.
      speaking = speaking
        .then(() =>
          this.speak(this.parts.tts, sentence, signal, () => {
            spoken.push(sentence);
            at ??= new Date().toISOString();
          }),
        )
        .catch((err: unknown) => {
          if (!isAbort(err) && !signal.aborted && !this.closed) this.fail(err as Error);
        });
    };
    void (async () => {
      let text = '';
      for await (const out of produce(signal)) {
        if (typeof out !== 'string') {
          actions.push(out);
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
      if (isAbort(err) || signal.aborted || this.closed) return reply.finish(true);
      this.fail(err as Error);
    });
  }

  private act(action: AgentAction): void {
    if ('hangUp' in action) this.host.hangup(action.hangUp);
    else if ('transfer' in action) this.host.transfer(action.transfer);
    else this.host.sendDtmf(action.dtmf);
  }

  private async speak(tts: TextToSpeech, sentence: string, signal: AbortSignal, started: () => void): Promise<void> {
    if (signal.aborted) return;
    const { voice, stats } = this.host;
    const frame = tts.sampleRate / 50;
    let first = true;
    for await (const pcm of tts.synthesize(sentence, signal)) {
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
