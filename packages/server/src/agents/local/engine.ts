// The built-in offline agent: the voice pipeline with pocketsphinx (recognition), the scripted dialogue and espeak-ng (speech).
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { EngineFactory } from '../../audio/engine.js';
import { Pipeline } from '../../audio/pipeline.js';
import { VAD_RATE, VoiceDetector } from '../../audio/vad.js';
import { ESPEAK_RATE, EspeakTts, espeakVoice } from './espeak.js';
import { PocketsphinxStt } from './pocketsphinx.js';
import { ScriptedDialogue } from './script.js';

export function localEngine(agent: AgentSpec): EngineFactory {
  return {
    inputRate: VAD_RATE,
    outputRate: ESPEAK_RATE,
    async create(host) {
      const dialogue = new ScriptedDialogue(agent.greeting ?? `Hello, this is ${agent.name}. How can I help you?`, agent.prompt);
      const parts = { stt: new PocketsphinxStt(dialogue.phrases()), dialogue, tts: new EspeakTts(espeakVoice(agent.language, agent.voice)), vad: await VoiceDetector.create() };
      return new Pipeline(parts, host);
    },
  };
}
