// Seed 003: an instance's voice channel (`/v1/instances/{instance_id}/channels/voice`): status, set up, tear down and
// its active calls. Credentials go straight into the sealed box; responses only say which are set.
import { NoContent } from '@astral/protocol';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { SecretBox } from '../auth/secret-box.js';
import type { Store } from '../store/index.js';
import { missingForProvider, VOICE_CREDENTIALS, VOICE_PROVIDERS, type VoiceChannel, type VoiceChannelChanges, type VoiceCredential } from '../store/voice-channels.js';
import { AppError } from '../util/errors.js';
import { InstanceIdParams, requireServiceKey, StringEnum, type ServiceAuth } from './fastapi-family.js';

export interface VoiceChannelApiOptions {
  auth: ServiceAuth;
  store: Store;
  /** Seals the channel's credentials (SecretPurposes.voiceCredentials). */
  secrets: SecretBox;
  /** This server's public base URL (no trailing slash), for the provider's webhook. */
  publicUrl: () => string;
  /** Runs a POST's (changes) or DELETE's (null) save with what follows the channel kept in step: its Twilio trunk (sip/twilio-trunk.ts). */
  applyChange?: <T>(instanceId: string, changes: VoiceChannelChanges | null, save: () => Promise<T>) => Promise<T>;
}

const text = (description: string) => Type.Optional(Type.String({ maxLength: 4096, description }));

const SetupVoiceBody = Type.Object(
  {
    provider: Type.Optional(StringEnum(VOICE_PROVIDERS, 'Voice provider slug (retell, pipecat); default retell')),
    api_key: text('Provider API key (Retell), stored encrypted'),
    agent_id: text('Retell agent/assistant ID'),
    openai_api_key: text('OpenAI API key for LLM/TTS/STT'),
    anthropic_api_key: text('Anthropic API key for LLM'),
    deepgram_api_key: text('Deepgram API key for STT'),
    elevenlabs_api_key: text('ElevenLabs API key for TTS'),
    cartesia_api_key: text('Cartesia API key for TTS'),
    google_api_key: text('Google API key for LLM/STT/TTS'),
    twilio_account_sid: text('Twilio Account SID'),
    twilio_auth_token: text('Twilio Auth Token'),
    twilio_phone_number: text('Twilio phone number (E.164)'),
    phone_number: text('Phone number for inbound calls'),
    webhook_secret: text('Provider webhook signing secret'),
  },
  { additionalProperties: false },
);
type SetupVoiceBody = Static<typeof SetupVoiceBody>;

const VoiceStatus = Type.Object({
  active_calls: Type.Integer(),
  enabled: Type.Boolean(),
  phone_number: Type.Union([Type.String(), Type.Null()]),
  provider: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  webhook_url: Type.String(),
  credentials: Type.Record(Type.String(), Type.Boolean()),
});

const ActiveCall = Type.Object({
  call_id: Type.String(),
  caller_phone: Type.String(),
  duration_seconds: Type.Integer(),
  state: Type.String(),
  transcript_turns: Type.Integer(),
});

/** `not_configured` before the first POST; `incomplete` while the provider lacks a required setting; else `active`. */
function statusOf(channel: VoiceChannel | undefined): string {
  if (!channel) return 'not_configured';
  return missingForProvider(channel).length > 0 ? 'incomplete' : 'active';
}

/** Registered inside `serviceFamily` (fastapi-family.ts), which gives it the `/v1` error shapes. */
export const voiceChannelApi: FastifyPluginAsync<VoiceChannelApiOptions> = async (app, { auth, store, secrets, publicUrl, applyChange = (_id, _changes, save) => save() }) => {
  const admin = requireServiceKey(auth, 'admin');
  const reader = requireServiceKey(auth, 'agents.call');
  const path = '/v1/instances/:instance_id/channels/voice';

  const statusFor = async (instanceId: string) => {
    const channel = await store.voiceChannels.get(instanceId);
    const set = new Set(channel?.credentialNames ?? []);
    return {
      active_calls: await store.agentCalls.countActive(instanceId),
      enabled: channel?.enabled ?? false,
      phone_number: channel?.phoneNumber ?? null,
      provider: channel?.provider ?? null,
      status: statusOf(channel),
      webhook_url: `${publicUrl()}/v1/webhooks/call-completed`,
      credentials: Object.fromEntries(VOICE_CREDENTIALS.map((name) => [name, set.has(name)])),
    };
  };

  app.get(path, { schema: { params: InstanceIdParams, response: { 200: VoiceStatus } }, ...reader }, async (request) => statusFor(request.actingInstanceId!));

  app.post<{ Body: SetupVoiceBody }>(path, { schema: { params: InstanceIdParams, body: SetupVoiceBody, response: { 200: VoiceStatus } }, ...admin }, async (request) => {
    const b = request.body;
    const credentials: Partial<Record<VoiceCredential, string>> = {};
    for (const name of VOICE_CREDENTIALS) if (b[name] !== undefined) credentials[name] = b[name];
    const changes = { provider: b.provider, phoneNumber: b.phone_number, agentId: b.agent_id, twilioPhoneNumber: b.twilio_phone_number, credentials };
    await applyChange(request.actingInstanceId!, changes, () => store.voiceChannels.configure(request.actingInstanceId!, changes, secrets));
    return statusFor(request.actingInstanceId!);
  });

  app.delete(path, { schema: { params: InstanceIdParams, response: { 204: NoContent } }, ...admin }, async (request, reply) => {
    if (!(await applyChange(request.actingInstanceId!, null, () => store.voiceChannels.remove(request.actingInstanceId!)))) throw new AppError('not_found', 'Voice channel not configured');
    return reply.status(204).send();
  });

  app.get(`${path}/calls`, { schema: { params: InstanceIdParams, response: { 200: Type.Array(ActiveCall) } }, ...reader }, async (request) =>
    store.agentCalls.listActive(request.actingInstanceId!),
  );
};
