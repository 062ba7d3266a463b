// AI agents of an instance, addressed by an internal key (`akylai`); every instance's default has the built-in one.
import type { Selectable } from 'kysely';
import { AppError } from '../util/errors.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';
import type { Db } from './db.js';
import type { AgentsTable } from './schema.js';

export const AGENT_PROVIDERS = ['local', 'pipecat', 'retell', 'openai-realtime'] as const;
export type AgentProvider = (typeof AGENT_PROVIDERS)[number];

/** Whether an agent runs the built-in pipeline (provider local, or pipecat without a bot url), whose vendors its fields choose. */
export const runsPipeline = (agent: { provider: string; url?: string | null }): boolean => agent.provider === 'local' || (agent.provider === 'pipecat' && !agent.url);

/** The pipeline's vendors per stage (`local`: pocketsphinx, the scripted dialogue, espeak-ng); see agents/vendors/. */
export const STT_VENDORS = ['local', 'deepgram', 'openai', 'google'] as const;
export const LLM_VENDORS = ['local', 'openai', 'anthropic', 'google'] as const;
export const TTS_VENDORS = ['local', 'elevenlabs', 'cartesia', 'openai', 'google'] as const;
export type SttVendor = (typeof STT_VENDORS)[number];
export type LlmVendor = (typeof LLM_VENDORS)[number];
export type TtsVendor = (typeof TTS_VENDORS)[number];
/** The cloud vendors, whose base URL an agent may override (a self-hosted compatible server, a test fake). */
export const CLOUD_VENDORS = ['deepgram', 'openai', 'anthropic', 'elevenlabs', 'cartesia', 'google'] as const;
export type CloudVendor = (typeof CLOUD_VENDORS)[number];

export interface AgentFields {
  key: string;
  name: string;
  description: string | null;
  /** BCP 47, e.g. `en`. */
  language: string;
  provider: AgentProvider;
  /** pipecat: the bot's WebSocket (Twilio Media Streams protocol); null runs the built-in pipeline. */
  url: string | null;
  providerAgentId: string | null;
  greeting: string | null;
  prompt: string | null;
  voice: string | null;
  /** The pipeline's vendors; null picks one by the voice channel's credentials. */
  stt: SttVendor | null;
  llm: LlmVendor | null;
  tts: TtsVendor | null;
  /** The LLM's model; null: the vendor's default. */
  llmModel: string | null;
  /** Vendor → base URL replacing the vendor's own (openai: up to and including `/v1`). */
  baseUrls: Partial<Record<CloudVendor, string>>;
}

export interface Agent extends AgentFields {
  id: string;
  instanceId: string;
  createdAt: string;
}

/** The agent a fresh server offers: offline speech (espeak-ng, pocketsphinx) and a scripted dialogue. */
export const BUILT_IN_AGENT: AgentFields = {
  key: 'akylai',
  name: 'Akylai',
  description: 'Built-in offline demo agent (espeak-ng + pocketsphinx)',
  language: 'en',
  provider: 'local',
  url: null,
  providerAgentId: null,
  greeting: null,
  prompt: null,
  voice: null,
  stt: null,
  llm: null,
  tts: null,
  llmModel: null,
  baseUrls: {},
};

type Row = Selectable<AgentsTable>;

const toAgent = (r: Row): Agent => ({
  id: r.id,
  instanceId: r.instance_id,
  key: r.key,
  name: r.name,
  description: r.description,
  language: r.language,
  provider: r.provider as AgentProvider,
  url: r.url,
  providerAgentId: r.provider_agent_id,
  greeting: r.greeting,
  prompt: r.prompt,
  voice: r.voice,
  stt: r.stt as SttVendor | null,
  llm: r.llm as LlmVendor | null,
  tts: r.tts as TtsVendor | null,
  llmModel: r.llm_model,
  baseUrls: JSON.parse(r.base_urls ?? '{}') as Agent['baseUrls'],
  createdAt: r.created_at,
});

export class AgentStore {
  constructor(
    private readonly db: Db,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async byKey(instanceId: string, key: string): Promise<Agent | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('instance_id', '=', instanceId).where('key', '=', key).executeTakeFirst();
    return row && toAgent(row);
  }

  /** The instance's agents, by key. */
  async list(instanceId: string): Promise<Agent[]> {
    return (await this.db.selectFrom('agents').selectAll().where('instance_id', '=', instanceId).orderBy('key').execute()).map(toAgent);
  }

  /** 409 when the instance already has an agent with that key. */
  async insert(instanceId: string, fields: AgentFields): Promise<Agent> {
    const row: Row = {
      id: this.ids.next(),
      instance_id: instanceId,
      key: fields.key,
      name: fields.name,
      description: fields.description,
      language: fields.language,
      provider: fields.provider,
      url: fields.url,
      provider_agent_id: fields.providerAgentId,
      greeting: fields.greeting,
      prompt: fields.prompt,
      voice: fields.voice,
      stt: fields.stt,
      llm: fields.llm,
      tts: fields.tts,
      llm_model: fields.llmModel,
      base_urls: Object.keys(fields.baseUrls).length > 0 ? JSON.stringify(fields.baseUrls) : null,
      created_at: new Date().toISOString(),
    };
    const res = await this.db.insertInto('agents').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 0) throw new AppError('conflict', `an agent with key ${fields.key} already exists`);
    return toAgent(row);
  }

  /** false when the instance has no agent with that key. */
  async remove(instanceId: string, key: string): Promise<boolean> {
    const res = await this.db.deleteFrom('agents').where('instance_id', '=', instanceId).where('key', '=', key).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Adds the built-in agent (`akylai`) unless the instance has an agent with its key (or another node adds it meanwhile). */
  async ensureDefault(instanceId: string): Promise<void> {
    if (await this.byKey(instanceId, BUILT_IN_AGENT.key)) return;
    await this.insert(instanceId, BUILT_IN_AGENT).catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
    });
  }
}
