// The OpenAI Realtime session an agent asks for (GA interface): its endpoint, the session.update built from the agent, and the audio format per codec.
import alawmulaw from 'alawmulaw';
import type { AgentCodec, AgentSpec } from '../../audio/agent-audio.js';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_REALTIME_MODEL = 'gpt-realtime';
export const DEFAULT_REALTIME_VOICE = 'marin';
export const TRANSCRIPTION_MODEL = 'gpt-4o-mini-transcribe';

/** The session's WebSocket URL: `{base}/realtime?model=…` on OpenAI's base URL or the agent's `base_urls.openai` (a self-hosted server, a test fake). */
export function realtimeUrl(baseUrl: string | undefined, model: string | null): string {
  const url = new URL(`${(baseUrl ?? OPENAI_BASE_URL).replace(/\/+$/, '')}/realtime`);
  url.protocol = url.protocol === 'http:' || url.protocol === 'ws:' ? 'ws:' : 'wss:';
  url.searchParams.set('model', model ?? DEFAULT_REALTIME_MODEL);
  return url.toString();
}

/** One wire format both ways: pcm16 at 24 kHz on Opus legs, G.711 at 8 kHz (no transcoding) on G.711 legs. */
export interface RealtimeAudio {
  readonly format: { type: 'audio/pcm'; rate: 24000 } | { type: 'audio/pcmu' } | { type: 'audio/pcma' };
  readonly rate: number;
  encode(frame: Int16Array): Buffer;
  /** Decodes one delta (a pcm16 sample split between deltas is kept for the next). */
  decode(bytes: Buffer): Int16Array;
}

export function realtimeAudio(codec: AgentCodec): RealtimeAudio {
  if (codec === 'PCMU' || codec === 'PCMA') {
    const law = codec === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw;
    return { format: { type: codec === 'PCMU' ? 'audio/pcmu' : 'audio/pcma' }, rate: 8000, encode: (frame) => Buffer.from(law.encode(frame)), decode: (bytes) => law.decode(bytes) };
  }
  let carry: Buffer = Buffer.alloc(0);
  return {
    format: { type: 'audio/pcm', rate: 24000 },
    rate: 24_000,
    encode: (frame) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength),
    decode(bytes) {
      const all = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
      const even = all.length & ~1;
      carry = Buffer.from(all.subarray(even));
      const pcm = new Int16Array(even / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = all.readInt16LE(2 * i);
      return pcm;
    },
  };
}

/** The session: the agent's prompt as instructions, its voice, the leg's audio format, server VAD and input transcription. */
export function sessionUpdate(agent: AgentSpec, audio: RealtimeAudio): Record<string, unknown> {
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      instructions: agent.prompt ?? `You are ${agent.name}, a friendly voice assistant on a phone call. Keep your answers short.`,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: audio.format,
          transcription: { model: TRANSCRIPTION_MODEL, language: agent.language.split('-')[0] },
          turn_detection: { type: 'server_vad', create_response: true, interrupt_response: true },
        },
        output: { format: audio.format, voice: agent.voice ?? DEFAULT_REALTIME_VOICE },
      },
    },
  };
}

/** What the agent says first: its greeting, word for word, or what its instructions make of the call's start. */
export function greetingRequest(agent: AgentSpec): Record<string, unknown> {
  return { type: 'response.create', response: agent.greeting ? { instructions: `Greet the caller by saying exactly: "${agent.greeting}"` } : {} };
}
