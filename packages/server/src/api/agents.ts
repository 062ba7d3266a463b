// AI agents: the admin API (`/v1/instances/{instance_id}/agents`, every field) and seed 004's `GET /v1/agents` (the
// safe fields an integrator's app may show). Registered inside `serviceFamily` (fastapi-family.ts).
import { AGENT_KEY_PATTERN, NoContent } from '@astral/protocol';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { openAiKey } from '../agents/realtime/credentials.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AGENT_PROVIDERS, CLOUD_VENDORS, LLM_VENDORS, runsPipeline, STT_VENDORS, TTS_VENDORS, type Agent, type AgentStore } from '../store/agents.js';
import type { VoiceChannelStore } from '../store/voice-channels.js';
import { AppError } from '../util/errors.js';
import { InstanceIdParams, requireServiceKey, StringEnum, UnprocessableError, type ServiceAuth } from './fastapi-family.js';

export interface AgentsApiOptions {
  auth: ServiceAuth;
  agents: AgentStore;
  /** An openai-realtime agent needs the voice channel's openai_api_key (409 without it). */
  voiceChannels: VoiceChannelStore;
  voiceSecrets: SecretBox;
}

const AgentKey = Type.String({ pattern: `^${AGENT_KEY_PATTERN}$` });
const optionalText = (maxLength: number) => Type.Optional(Type.String({ maxLength }));

const VendorUrl = Type.String({ format: 'uri', pattern: '^(https?|wss?)://', maxLength: 2048 });
const BaseUrls = Type.Object(Object.fromEntries(CLOUD_VENDORS.map((v) => [v, Type.Optional(VendorUrl)])), {
  additionalProperties: false,
  description: 'vendor → base URL replacing its own (openai: up to and including /v1), e.g. a self-hosted compatible server',
});
/** The fields of the built-in pipeline's vendors (provider local, or pipecat without a url). */
const PIPELINE_FIELDS = ['stt', 'llm', 'tts', 'llm_model', 'base_urls'] as const;
/** openai-realtime takes its model from llm_model and its endpoint from base_urls.openai. */
const REALTIME_FIELDS: readonly string[] = ['llm_model', 'base_urls'];

const CreateAgentBody = Type.Object(
  {
    key: AgentKey,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: optionalText(1000),
    language: Type.Optional(Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP 47; default en' })),
    provider: StringEnum(AGENT_PROVIDERS),
    url: Type.Optional(Type.String({ format: 'uri', pattern: '^wss?://', maxLength: 2048, description: 'pipecat only: the bot WebSocket' })),
    provider_agent_id: optionalText(128),
    greeting: optionalText(2000),
    prompt: optionalText(20000),
    voice: optionalText(64),
    stt: Type.Optional(StringEnum(STT_VENDORS, 'pipeline speech-to-text; default: by the voice channel credentials')),
    llm: Type.Optional(StringEnum(LLM_VENDORS, 'pipeline LLM; default: by the voice channel credentials')),
    tts: Type.Optional(StringEnum(TTS_VENDORS, 'pipeline text-to-speech; default: by the voice channel credentials')),
    llm_model: optionalText(128),
    base_urls: Type.Optional(BaseUrls),
  },
  { additionalProperties: false },
);
type CreateAgentBody = Static<typeof CreateAgentBody>;

const nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const AgentResponse = Type.Object({
  key: Type.String(),
  name: Type.String(),
  description: nullable(Type.String()),
  language: Type.String(),
  provider: Type.String(),
  url: nullable(Type.String()),
  provider_agent_id: nullable(Type.String()),
  greeting: nullable(Type.String()),
  prompt: nullable(Type.String()),
  voice: nullable(Type.String()),
  stt: nullable(Type.String()),
  llm: nullable(Type.String()),
  tts: nullable(Type.String()),
  llm_model: nullable(Type.String()),
  base_urls: Type.Record(Type.String(), Type.String()),
  created_at: Type.String(),
});
const PublicAgent = Type.Object({ key: Type.String(), name: Type.String(), description: nullable(Type.String()), language: Type.String() });
const AgentParams = Type.Object({ instance_id: Type.String({ format: 'uuid' }), key: Type.String({ maxLength: 64 }) });

const toResponse = (a: Agent) => ({
  key: a.key,
  name: a.name,
  description: a.description,
  language: a.language,
  provider: a.provider,
  url: a.url,
  provider_agent_id: a.providerAgentId,
  greeting: a.greeting,
  prompt: a.prompt,
  voice: a.voice,
  stt: a.stt,
  llm: a.llm,
  tts: a.tts,
  llm_model: a.llmModel,
  base_urls: a.baseUrls,
  created_at: a.createdAt,
});

export const agentsApi: FastifyPluginAsync<AgentsApiOptions> = async (app, { auth, agents, voiceChannels, voiceSecrets }) => {
  const admin = requireServiceKey(auth, 'admin');
  const path = '/v1/instances/:instance_id/agents';

  app.post<{ Body: CreateAgentBody }>(path, { schema: { params: InstanceIdParams, body: CreateAgentBody, response: { 201: AgentResponse } }, ...admin }, async (request, reply) => {
    const b = request.body;
    if (b.url !== undefined && b.provider !== 'pipecat') throw UnprocessableError.field(['body', 'url'], 'Value error, url is only for pipecat agents');
    const pipeline = runsPipeline(b);
    for (const field of PIPELINE_FIELDS)
      if (b[field] !== undefined && !pipeline && !(b.provider === 'openai-realtime' && REALTIME_FIELDS.includes(field))) throw UnprocessableError.field(['body', field], `Value error, ${field} is only for pipeline agents (provider local, or pipecat without a url)`);
    if (b.provider === 'openai-realtime') await openAiKey(voiceChannels, voiceSecrets, request.actingInstanceId!);
    const agent = await agents.insert(request.actingInstanceId!, {
      key: b.key,
      name: b.name,
      description: b.description ?? null,
      language: b.language ?? 'en',
      provider: b.provider,
      url: b.url ?? null,
      providerAgentId: b.provider_agent_id ?? null,
      greeting: b.greeting ?? null,
      prompt: b.prompt ?? null,
      voice: b.voice ?? null,
      stt: b.stt ?? null,
      llm: b.llm ?? null,
      tts: b.tts ?? null,
      llmModel: b.llm_model ?? null,
      baseUrls: b.base_urls ?? {},
    });
    return reply.status(201).send(toResponse(agent));
  });

  app.get(path, { schema: { params: InstanceIdParams, response: { 200: Type.Array(AgentResponse) } }, ...admin }, async (request) =>
    (await agents.list(request.actingInstanceId!)).map(toResponse),
  );

  app.get<{ Params: { key: string } }>(`${path}/:key`, { schema: { params: AgentParams, response: { 200: AgentResponse } }, ...admin }, async (request) => {
    const agent = await agents.byKey(request.actingInstanceId!, request.params.key);
    if (!agent) throw new AppError('not_found', 'Agent not found');
    return toResponse(agent);
  });

  app.delete<{ Params: { key: string } }>(`${path}/:key`, { schema: { params: AgentParams, response: { 204: NoContent } }, ...admin }, async (request, reply) => {
    if (!(await agents.remove(request.actingInstanceId!, request.params.key))) throw new AppError('not_found', 'Agent not found');
    return reply.status(204).send();
  });

  // Seed 004: the agents of the key's instance, safe fields only.
  app.get('/v1/agents', { schema: { response: { 200: Type.Array(PublicAgent) } }, ...requireServiceKey(auth, 'agents.call') }, async (request) =>
    (await agents.list(request.actingInstanceId!)).map((a) => ({ key: a.key, name: a.name, description: a.description, language: a.language })),
  );
};
