// AI voice agents on the vendor pipeline: voice-to-voice latency (the end of the caller's speech → the agent's first audio
// packet) of one leg whose Deepgram, OpenAI and ElevenLabs are the test suite's fakes (packages/server/test/fakes/), once
// answering instantly (the platform's own overhead) and once with the vendors' typical published latencies; and the
// ElevenLabs adapter's sentence → first audio with a real connection's handshake, connecting per sentence vs ahead.
import { once } from 'node:events';
import { FakeDeepgram, type DeepgramListening } from '../packages/server/test/fakes/deepgram.js';
import { FakeElevenLabs } from '../packages/server/test/fakes/elevenlabs.js';
import { ElevenLabsTts } from '../packages/server/src/agents/vendors/elevenlabs-tts.js';
import { FakeOpenAi, type ModelLatency } from '../packages/server/test/fakes/openai.js';
import type { AgentAudio, AgentSpec, StreamIdentity } from '../packages/server/src/audio/agent-audio.js';
import type { VendorPlan } from '../packages/server/src/agents/vendors/select.js';
import { OPUS_FRAME, OpusEncoder } from '../packages/server/src/audio/opus-encoder.js';
import { buildRtp } from '../packages/server/src/media/rtp.js';
import { createSocket } from 'node:dgram';

const TURNS = 20;
const KEYS = { deepgram: 'dg-bench', openai: 'sk-bench', elevenlabs: 'xi-bench' };
const QUESTION = 'what are your opening hours';
/** The reply as LLM deltas; its first sentence is what is spoken first. */
const REPLY = ['We are ', 'open ', 'from nine ', 'to six. ', 'Anything ', 'else?'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface VendorLatencies {
  /** Deepgram: silence after the last word before `speech_final` (ms of audio); null: the adapter's `endpointing`. */
  endpointingMs: number | null;
  openai: ModelLatency;
  elevenlabs: { firstByteMs: number; connectMs: number };
}

/** Fakes that answer at once: the final result on the first silent frame (20 ms), the first token and byte at once. */
export const INSTANT: VendorLatencies = { endpointingMs: 20, openai: {}, elevenlabs: { firstByteMs: 0, connectMs: 0 } };

/**
 * The vendors' typical published figures:
 * - Deepgram: `speech_final` after the `endpointing` silence the adapter asks for (300 ms; Deepgram recommends 300-500 ms
 *   for conversations: https://developers.deepgram.com/docs/understand-endpointing-interim-results), its processing
 *   on top of that counted as nothing.
 * - OpenAI gpt-4o-mini: time to first token ~0.4 s (published measurements, e.g. https://apikeyhealth.com/blogs/the-latency-tradeoff),
 *   then ~15 ms per delta (60-80 tokens/s).
 * - ElevenLabs Flash v2.5: ~75 ms model latency (https://elevenlabs.io/docs/overview/models) plus the network: ~150 ms to the
 *   first byte; a new connection's TLS + WebSocket handshake ~100 ms (two round trips to a nearby region) before that.
 */
export const TYPICAL: VendorLatencies = { endpointingMs: null, openai: { firstTokenMs: 400, tokenMs: 15 }, elevenlabs: { firstByteMs: 150, connectMs: 100 } };

/** 20 ms frames at 48 kHz: a voiced "vowel" without pauses (140 Hz and its harmonics, a syllable-rate swell). */
function vowelFrames(seconds: number): Int16Array[] {
  const frames: Int16Array[] = [];
  for (let f = 0; f < Math.round(seconds * 50); f++) {
    const pcm = new Int16Array(OPUS_FRAME);
    for (let i = 0; i < OPUS_FRAME; i++) {
      const t = (f * OPUS_FRAME + i) / 48_000;
      let v = 0;
      for (let k = 1; k <= 12; k++) v += Math.sin(2 * Math.PI * 140 * k * t) / k;
      pcm[i] = Math.round(5000 * v * (0.7 + 0.3 * Math.sin(2 * Math.PI * 4 * t)));
    }
    frames.push(pcm);
  }
  return frames;
}

/** A caller's microphone: one Opus RTP packet every 20 ms, speech when given, otherwise a -70 dBFS noise floor. */
class Microphone {
  private readonly queue: Int16Array[] = [];
  private readonly encoder = new OpusEncoder();
  private done: ((sentAt: number) => void) | null = null;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (packet: Buffer) => void) {}

  start(): void {
    const t0 = performance.now();
    const tick = () => {
      const frame = this.queue.shift();
      const pcm = frame ?? new Int16Array(OPUS_FRAME).map(() => Math.round((Math.random() - 0.5) * 20));
      this.send(buildRtp({ payloadType: 100, marker: false, seq: this.seq & 0xffff, timestamp: (this.seq * OPUS_FRAME) >>> 0, ssrc: 0xbe7c4 }, this.encoder.encode(pcm)));
      this.seq++;
      if (frame && this.queue.length === 0) this.done?.(performance.now());
      this.timer = setTimeout(tick, Math.max(0, t0 + this.seq * 20 - performance.now()));
    };
    tick();
  }

  /** Plays the frames; resolves with the moment the last one was sent. */
  say(frames: Int16Array[]): Promise<number> {
    this.queue.push(...frames);
    return new Promise((resolve) => (this.done = resolve));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.encoder.delete();
  }
}

export interface VendorLatencyResult {
  /** The caller's last voiced frame sent → the agent's first audio packet. */
  fromVoice: number[];
  /** The STT fake's end of turn (its `speech_final` sent) → the agent's first audio packet. */
  fromFinal: number[];
  /** Where the time goes, per turn: final → LLM request; LLM request → the first sentence at the TTS; TTS first byte → first packet. */
  toLlm: number[];
  llmToTts: number[];
  ttsToPacket: number[];
}

async function waitFor<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
  for (const end = performance.now() + ms; performance.now() < end; await sleep(2)) {
    const got = probe();
    if (got !== undefined) return got;
  }
  return undefined;
}

/** One pipeline leg on the fakes, asked TURNS times. */
export async function vendorLatency(agents: AgentAudio, latencies: VendorLatencies): Promise<VendorLatencyResult> {
  const listening: DeepgramListening = { transcripts: Array.from({ length: 3 * TURNS }, () => QUESTION), ...(latencies.endpointingMs !== null ? { endpointingMs: latencies.endpointingMs } : {}) };
  const [deepgram, openai, eleven] = await Promise.all([
    FakeDeepgram.start(KEYS.deepgram, listening),
    FakeOpenAi.start(KEYS.openai, latencies.openai),
    FakeElevenLabs.start(KEYS.elevenlabs, 20, latencies.elevenlabs),
  ]);
  const sfu = createSocket('udp4');
  sfu.bind(0, '127.0.0.1');
  await once(sfu, 'listening');
  const arrivals: number[] = [];
  sfu.on('message', () => arrivals.push(performance.now()));
  const question = vowelFrames(1.2);
  const id = 'bench-vendors';
  const agent: AgentSpec = { key: 'vendors', name: 'Vendors', language: 'en', provider: 'pipecat', url: null, greeting: 'Hello.', prompt: null, voice: null, llmModel: null };
  const vendors: VendorPlan = {
    stt: { vendor: 'deepgram', apiKey: KEYS.deepgram, baseUrl: deepgram.url },
    llm: { vendor: 'openai', apiKey: KEYS.openai, baseUrl: openai.url },
    tts: { vendor: 'elevenlabs', apiKey: KEYS.elevenlabs, baseUrl: eleven.url },
  };
  const stream: StreamIdentity = { callSid: 'CA-bench-vendors', streamSid: 'MZ-bench-vendors', accountSid: 'AC-bench', customParameters: {} };
  const { port } = await agents.open(id);
  agents.start(id, { sfuPort: (sfu.address() as { port: number }).port, codec: 'opus', payloadType: 100, ssrc: 4711, agent, vendors, stream });
  const mic = new Microphone((packet) => sfu.send(packet, port, '127.0.0.1'));
  const result: VendorLatencyResult = { fromVoice: [], fromFinal: [], toLlm: [], llmToTts: [], ttsToPacket: [] };
  try {
    agents.answered(id);
    mic.start();
    await sleep(2000); // the greeting
    const stt = await deepgram.session();
    for (let turn = 0; turn < TURNS; turn++) {
      openai.answer({ text: REPLY });
      const voicedUntil = await mic.say(question);
      const first = await waitFor(() => arrivals.find((t) => t > voicedUntil), 5000);
      // Matched by time, not by count: a late frame (a loaded machine) can make the fake end an utterance early.
      const heard = stt.utterances.filter((u) => u.finalAt > voicedUntil - 1000 && first !== undefined && u.finalAt <= first).at(-1);
      const request = openai.requests.filter((r) => heard && r.receivedAt >= heard.finalAt).at(0);
      // The reply's speech socket connects ahead (prewarm): matched by its sentence arriving, not by its connection.
      const tts = eleven.sessions.find((s) => request && s.textAt !== null && s.textAt >= request.receivedAt);
      if (first !== undefined && heard && request && tts?.textAt && tts.firstAudioAt) {
        result.fromVoice.push(first - voicedUntil);
        result.fromFinal.push(first - heard.finalAt);
        result.toLlm.push(request.receivedAt - heard.finalAt);
        result.llmToTts.push(tts.textAt - request.receivedAt);
        result.ttsToPacket.push(first - tts.firstAudioAt);
      } // else no answer in 5 s: a missing sample (n < TURNS)
      // The reply plays out (about 1 s of tone), then a pause before the next question.
      await waitFor(() => (arrivals.at(-1)! < performance.now() - 300 ? true : undefined), 10_000);
      await sleep(200);
    }
  } finally {
    mic.stop();
    agents.close(id);
    sfu.close();
    await Promise.all([deepgram.close(), openai.close(), eleven.close()]);
  }
  return result;
}

/**
 * The ElevenLabs adapter, sentence handed over → its first audio chunk, against the fake with a `connectMs` handshake and
 * `firstByteMs` to the first byte: each sentence connecting then (`ahead` false: the adapter before prewarm), or on a
 * socket connected `aheadMs` before (prewarm at the reply's start: the LLM's time to its first sentence).
 */
export async function ttsFirstAudio(opts: { connectMs: number; firstByteMs: number; ahead: boolean; aheadMs: number }): Promise<number[]> {
  const eleven = await FakeElevenLabs.start(KEYS.elevenlabs, 20, opts);
  const tts = new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: null });
  const samples: number[] = [];
  try {
    for (let i = 0; i < TURNS; i++) {
      if (opts.ahead) {
        tts.prewarm();
        await sleep(opts.aheadMs);
      }
      const start = performance.now();
      for await (const _chunk of tts.synthesize('We are open from nine to six.', new AbortController().signal)) {
        samples.push(performance.now() - start);
        break;
      }
    }
  } finally {
    tts.close();
    await eleven.close();
  }
  return samples;
}
