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
  /** extension | queue | ivr | ai_agent (the last once AI agents exist). */
  destination_type: string;
  /** The trunk it arrives on; null: any trunk of the instance. */
  trunk_id: string | null;
  created_at: string;
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
}
