// Which vendors run an agent's pipeline: the agent's `stt`/`llm`/`tts` fields when set, otherwise the first stage vendor
// whose credential the instance's voice channel holds (and that has an adapter), otherwise the local engines.
import type { Agent, CloudVendor, LlmVendor, SttVendor, TtsVendor } from '../../store/agents.js';
import type { VoiceCredential } from '../../store/voice-channels.js';
import { AppError } from '../../util/errors.js';
import { LLM_ADAPTERS, STT_ADAPTERS, TTS_ADAPTERS } from './adapters.js';

/** One stage's vendor, with its key and base URL (null: the vendor's own). Holds a secret: never log it. */
export interface VendorChoice<V extends string> {
  vendor: V;
  apiKey: string | null;
  baseUrl: string | null;
}

export interface VendorPlan {
  stt: VendorChoice<SttVendor>;
  llm: VendorChoice<LlmVendor>;
  tts: VendorChoice<TtsVendor>;
}

/** The offline engines: pocketsphinx, the scripted dialogue, espeak-ng. */
const local = <V extends string>(vendor: V): VendorChoice<V> => ({ vendor, apiKey: null, baseUrl: null });
export const LOCAL_VENDORS: VendorPlan = { stt: local('local'), llm: local('local'), tts: local('local') };

/** The credential each cloud vendor's key is stored as on the voice channel. */
export const VENDOR_CREDENTIAL: Record<CloudVendor, VoiceCredential> = {
  deepgram: 'deepgram_api_key',
  openai: 'openai_api_key',
  anthropic: 'anthropic_api_key',
  elevenlabs: 'elevenlabs_api_key',
  cartesia: 'cartesia_api_key',
  google: 'google_api_key',
};

/** Automatic choice, best first: the first vendor with a key wins; `local` needs none. */
const PREFERENCE = {
  stt: ['deepgram', 'openai', 'google', 'local'],
  llm: ['openai', 'anthropic', 'google', 'local'],
  tts: ['elevenlabs', 'cartesia', 'openai', 'google', 'local'],
} as const satisfies { stt: readonly SttVendor[]; llm: readonly LlmVendor[]; tts: readonly TtsVendor[] };

const IMPLEMENTED = { stt: STT_ADAPTERS, llm: LLM_ADAPTERS, tts: TTS_ADAPTERS };

type Stage = keyof VendorPlan;
type Credentials = Partial<Record<VoiceCredential, string>>;

function choose<V extends SttVendor | LlmVendor | TtsVendor>(stage: Stage, agent: Agent, credentials: Credentials): VendorChoice<V> {
  const choice = (vendor: V): VendorChoice<V> => {
    const cloud = vendor === 'local' ? null : (vendor as CloudVendor);
    return { vendor, apiKey: cloud ? (credentials[VENDOR_CREDENTIAL[cloud]] ?? null) : null, baseUrl: cloud ? (agent.baseUrls[cloud] ?? null) : null };
  };
  const implemented = (vendor: string) => vendor in IMPLEMENTED[stage];
  const wanted = agent[stage] as V | null;
  if (wanted) {
    if (!implemented(wanted)) throw new AppError('unavailable', `agent "${agent.key}": the ${stage} vendor "${wanted}" is not available in this version`);
    const picked = choice(wanted);
    // A self-hosted compatible server (a base URL of the agent's) may need no key.
    if (wanted !== 'local' && !picked.apiKey && !picked.baseUrl)
      throw new AppError('unavailable', `agent "${agent.key}": ${stage} "${wanted}" needs ${VENDOR_CREDENTIAL[wanted as CloudVendor]} on the voice channel`);
    return picked;
  }
  const vendor = (PREFERENCE[stage] as readonly string[] as readonly V[]).find((v) => implemented(v) && (v === 'local' || credentials[VENDOR_CREDENTIAL[v as CloudVendor]]));
  return choice(vendor ?? ('local' as V));
}

/** The vendors of a pipeline agent (provider `local`, or `pipecat` without a url), given its instance's credentials. */
export function selectVendors(agent: Agent, credentials: Credentials): VendorPlan {
  return { stt: choose('stt', agent, credentials), llm: choose('llm', agent, credentials), tts: choose('tts', agent, credentials) };
}
