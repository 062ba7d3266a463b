// The vendor adapters of each pipeline stage, by vendor: one line per adapter (a vendor missing here is not offered by select.ts).
import type { AgentSpec } from '../../audio/agent-audio.js';
import type { Dialogue, SpeechToText, StreamingSpeechToText, TextToSpeech } from '../../audio/pipeline.js';
import type { LlmVendor, SttVendor, TtsVendor } from '../../store/agents.js';
import { EspeakTts, espeakVoice } from '../local/espeak.js';
import { PocketsphinxStt } from '../local/pocketsphinx.js';
import { agentScript } from '../local/script.js';
import { AnthropicDialogue } from './anthropic-llm.js';
import { CartesiaTts } from './cartesia-tts.js';
import { DeepgramStt } from './deepgram-stt.js';
import { ElevenLabsTts } from './elevenlabs-tts.js';
import { GoogleDialogue } from './google-llm.js';
import { GoogleStt } from './google-stt.js';
import { GoogleTts } from './google-tts.js';
import { OpenAiDialogue } from './openai-llm.js';
import { OpenAiStt } from './openai-stt.js';
import { OpenAiTts } from './openai-tts.js';
import type { VendorChoice } from './select.js';

/** What an adapter is built from: the agent (language, prompt, greeting, voice, model) and its vendor's key and base URL. */
export interface AdapterContext {
  agent: AgentSpec;
  vendor: Omit<VendorChoice<string>, 'vendor'>;
}

export const STT_ADAPTERS: Partial<Record<SttVendor, (ctx: AdapterContext) => SpeechToText | StreamingSpeechToText>> = {
  local: ({ agent }) => new PocketsphinxStt(agentScript(agent).phrases()),
  deepgram: ({ agent, vendor }) => new DeepgramStt({ ...vendor, language: agent.language }),
  openai: ({ agent, vendor }) => new OpenAiStt({ ...vendor, language: agent.language }),
  google: ({ agent, vendor }) => new GoogleStt({ ...vendor, language: agent.language }),
};

export const LLM_ADAPTERS: Partial<Record<LlmVendor, (ctx: AdapterContext) => Dialogue>> = {
  local: ({ agent }) => agentScript(agent),
  openai: ({ agent, vendor }) => new OpenAiDialogue({ ...vendor, agent }),
  anthropic: ({ agent, vendor }) => new AnthropicDialogue({ ...vendor, agent }),
  google: ({ agent, vendor }) => new GoogleDialogue({ ...vendor, agent }),
};

export const TTS_ADAPTERS: Partial<Record<TtsVendor, (ctx: AdapterContext) => TextToSpeech>> = {
  local: ({ agent }) => new EspeakTts(espeakVoice(agent.language, agent.voice)),
  elevenlabs: ({ agent, vendor }) => new ElevenLabsTts({ ...vendor, voiceId: agent.voice }),
  cartesia: ({ agent, vendor }) => new CartesiaTts({ ...vendor, voiceId: agent.voice, language: agent.language }),
  openai: ({ agent, vendor }) => new OpenAiTts({ ...vendor, voice: agent.voice }),
  google: ({ agent, vendor }) => new GoogleTts({ ...vendor, voice: agent.voice, language: agent.language }),
};
