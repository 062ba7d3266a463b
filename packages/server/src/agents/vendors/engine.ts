// The pipeline engine of an agent (provider `local`, or `pipecat` without a url): its chosen vendors' adapters in the
// voice pipeline, with an offline apology (espeak-ng) for when a vendor fails mid-call.
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { EngineFactory } from '../../audio/engine.js';
import { Pipeline, type TextToSpeech } from '../../audio/pipeline.js';
import { Resampler } from '../../audio/resample.js';
import { VAD_RATE, VoiceDetector } from '../../audio/vad.js';
import { EspeakTts, espeakVoice } from '../local/espeak.js';
import { LLM_ADAPTERS, STT_ADAPTERS, TTS_ADAPTERS, type AdapterContext } from './adapters.js';
import type { VendorChoice, VendorPlan } from './select.js';

const APOLOGY = 'Sorry, something went wrong on our side. Please call again later. Goodbye.';

/** Another TTS's speech at `sampleRate` (the apology in the voice's rate). */
class ResampledTts implements TextToSpeech {
  constructor(
    private readonly inner: TextToSpeech,
    readonly sampleRate: number,
  ) {}

  async *synthesize(sentence: string, signal: AbortSignal): AsyncIterable<Int16Array> {
    const resampler = await Resampler.create(this.inner.sampleRate, this.sampleRate);
    try {
      for await (const pcm of this.inner.synthesize(sentence, signal)) yield resampler.process(pcm);
    } finally {
      resampler.destroy();
    }
  }
}

function adapter<T>(stage: string, adapters: Partial<Record<string, (ctx: AdapterContext) => T>>, agent: AgentSpec, { vendor, ...rest }: VendorChoice<string>): T {
  const make = adapters[vendor];
  if (!make) throw new Error(`no ${stage} adapter for ${vendor}`);
  return make({ agent, vendor: rest });
}

export function pipelineEngine(agent: AgentSpec, plan: VendorPlan): EngineFactory {
  const tts = adapter('tts', TTS_ADAPTERS, agent, plan.tts);
  return {
    inputRate: VAD_RATE,
    outputRate: tts.sampleRate,
    async create(host) {
      const stt = adapter('stt', STT_ADAPTERS, agent, plan.stt);
      const dialogue = adapter('llm', LLM_ADAPTERS, agent, plan.llm);
      const espeak = new EspeakTts(espeakVoice(agent.language, plan.tts.vendor === 'local' ? agent.voice : null));
      const apology = { text: APOLOGY, tts: espeak.sampleRate === tts.sampleRate ? espeak : new ResampledTts(espeak, tts.sampleRate) };
      return new Pipeline({ stt, dialogue, tts, vad: await VoiceDetector.create(), apology }, host);
    },
  };
}
