// Table types of the query layer; times are ISO 8601 UTC strings so SQLite and PostgreSQL agree.
import type { Generated } from 'kysely';

export interface InstancesTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  instance_id: string;
  name: string;
  /** First characters of the key, shown in listings so an operator can tell keys apart. */
  prefix: string;
  key_hash: string;
  /** JSON array of permission names. */
  permissions: string;
  created_at: string;
  revoked_at: string | null;
}

export interface UsersTable {
  id: string;
  instance_id: string;
  identity: string;
  display_name: string;
  extension: string | null;
  created_at: string;
  /** Calls involving this user are recorded (default true). */
  record_calls: Generated<number>;
}

export interface CallsTable {
  id: string;
  instance_id: string;
  from_user_id: string;
  to_user_id: string | null;
  from_number: string;
  to_number: string;
  direction: string;
  status: string;
  disposition: string | null;
  end_reason: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  duration: Generated<number>;
  talk_time: Generated<number>;
  channel_id: string | null;
  /** Where the recording is stored (set by the recording service); null when the call has none. */
  recording_path: string | null;
  /** The last heartbeat of the call while live (see CallStore.heartbeat); null before the first. */
  last_seen_at: Generated<string | null>;
}

/**
 * Calls per instance, UTC day (started_at), direction and outcome (disposition, or 'LIVE' until the call ends), with the
 * sum of their durations. SQLite only: kept exact by triggers on `calls` (see call-history-sqlite.ts).
 */
export interface CallCountersTable {
  instance_id: string;
  day: string;
  direction: string;
  outcome: string;
  call_count: number;
  duration_sum: number;
}

/** One step of a call's journey; `duration` is filled in when the next step starts. */
export interface CallStepsTable {
  id: string;
  call_id: string;
  time: string;
  action: string;
  from_number: string;
  to_number: string;
  duration: number;
  status: string;
}

export interface QueuesTable {
  id: string;
  instance_id: string;
  number: string;
  name: string;
  strategy: string;
  /** JSON array of member extensions, in order. */
  members: string;
  ring_timeout: number;
  overflow: string | null;
  record: number;
  created_at: string;
}

export interface IvrMenusTable {
  id: string;
  instance_id: string;
  number: string;
  name: string;
  /** JSON object: digit → destination (extension, queue or IVR number). */
  options: string;
  prompt_path: string;
  created_at: string;
}

export interface BotsTable {
  id: string;
  instance_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface ChannelsTable {
  id: string;
  instance_id: string;
  type: 'dm' | 'group';
  name: string | null;
  rtc_region: string | null;
  created_at: string;
}

export interface ChannelRecipientsTable {
  channel_id: string;
  recipient_id: string;
}

export interface TrunksTable {
  id: string;
  instance_id: string;
  /** Unique per instance; part of channel ids (`SIP/<name>-0000001a`). */
  name: string;
  host: string;
  port: number;
  transport: string;
  username: string | null;
  /** The password sealed with SecretBox (purpose `sip-trunk-password/v1`); never the plaintext. */
  password_sealed: string | null;
  realm: string | null;
  caller_id: string | null;
  register: number;
  /** JSON array of codec names in preference order. */
  codecs: string;
  /** JSON array of CIDR blocks or addresses. */
  allowed_ips: string;
  /** 1 for the instance's outbound default (a partial unique index keeps it to one). */
  is_default: number;
  created_at: string;
  updated_at: string;
}

export interface PhoneNumbersTable {
  id: string;
  instance_id: string;
  /** Digits only, without the '+'. */
  number: string;
  /** 1 when the number was given with a leading '+' (it is shown that way). */
  plus: number;
  destination: string;
  /** extension | queue | ivr | ai_agent (destination: an agent key of the instance). */
  destination_type: string;
  /** The trunk it arrives on; null: any trunk of the instance. */
  trunk_id: string | null;
  created_at: string;
}

/** Seed 003: an instance's voice channel. */
export interface VoiceChannelsTable {
  instance_id: string;
  /** retell | pipecat */
  provider: string;
  enabled: number;
  phone_number: string | null;
  /** Retell agent/assistant id (not a secret). */
  agent_id: string | null;
  twilio_phone_number: string | null;
  /** JSON object of every credential (api_key, openai_api_key, ..., webhook_secret) sealed with SecretBox; never plaintext. */
  credentials_sealed: string | null;
  /** JSON array of the names of the credentials that are set (so GET can say which, without opening the box). */
  credential_names: string;
  created_at: string;
  updated_at: string;
}

/** An AI agent of an instance, addressed by its internal key (`akylai`). */
export interface AgentsTable {
  id: string;
  instance_id: string;
  key: string;
  name: string;
  description: string | null;
  /** BCP 47, e.g. `en`. */
  language: string;
  /** local | pipecat | retell */
  provider: string;
  /** pipecat: the bot's WebSocket (Twilio Media Streams protocol). */
  url: string | null;
  provider_agent_id: string | null;
  greeting: string | null;
  prompt: string | null;
  voice: string | null;
  /** The pipeline's vendors (null: chosen by the voice channel's credentials) and the LLM's model. */
  stt: string | null;
  llm: string | null;
  tts: string | null;
  llm_model: string | null;
  /** JSON object vendor → base URL, or null. */
  base_urls: string | null;
  created_at: string;
}

/** Every call an agent takes part in (seed 004's call object). */
export interface AgentCallsTable {
  /** The internal call id (calls.id). */
  call_id: string;
  /** The UUID seed 004 returns as `call_id`. */
  service_id: string;
  instance_id: string;
  agent_key: string;
  /** The other party: a phone number, an extension or an identity. */
  phone: string;
  /** outbound: the agent calls (POST /v1/calls); inbound: someone calls the agent. */
  direction: string;
  /** queued | ringing | in-progress | completed | busy | no-answer | failed */
  status: string;
  /** What a provider (media-stream bot) knows the call by: the `callSid` of its `start` message. */
  provider_call_id: string;
  /** The provider's final result (POST /v1/webhooks/call-completed), when one came. */
  result_status: string | null;
  result_transcript: string | null;
  result_duration: number | null;
  result_at: string | null;
  created_at: string;
  answered_at: string | null;
  ended_at: string | null;
}

/** One turn of an agent call's conversation. */
export interface AgentTurnsTable {
  call_id: string;
  seq: number;
  /** agent | user */
  role: string;
  text: string;
  at: string;
}

export interface WebhooksTable {
  id: string;
  instance_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The signing secret sealed with SecretBox. */
  secret_sealed: string;
  created_at: string;
}

/** The persisted delivery queue: one row per (event, webhook). */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  instance_id: string;
  event_id: string;
  event_type: string;
  /** The exact JSON body sent (signed as `timestamp.payload`). */
  payload: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface Database {
  instances: InstancesTable;
  api_keys: ApiKeysTable;
  users: UsersTable;
  calls: CallsTable;
  call_counters: CallCountersTable;
  call_steps: CallStepsTable;
  queues: QueuesTable;
  ivr_menus: IvrMenusTable;
  bots: BotsTable;
  channels: ChannelsTable;
  channel_recipients: ChannelRecipientsTable;
  trunks: TrunksTable;
  phone_numbers: PhoneNumbersTable;
  voice_channels: VoiceChannelsTable;
  agents: AgentsTable;
  agent_calls: AgentCallsTable;
  agent_turns: AgentTurnsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}
