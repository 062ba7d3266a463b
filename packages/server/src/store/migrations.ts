// Schema migrations, run in order at start by Kysely's Migrator, the same on SQLite and PostgreSQL.
//
// One schema for both dialects: packages/server/test/store.test.ts runs every migration up and down on each. The conventions:
// - ids, instants and enums are varchar: snowflakes `varchar(20)`, UUIDs `varchar(36)`, ISO 8601 UTC instants
//   (Date#toISOString, sortable as text) `varchar(32)`;
// - booleans are `integer` 0/1 (one representation on both; compare with 1/0, never true/false);
// - JSON is `text` (JSON.stringify/parse in the store), counts and seconds `integer`; ids are never autoincrement;
// - raw SQL (`sql`) only where the builder cannot say it, and portable; what differs by dialect lives in a per-dialect
//   module chosen by dialect.ts (so far: call history's accelerators, historyIndexesOf), or, for a column type only
//   PostgreSQL enforces (lengths), a migration that runs on it alone.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { dialectOf, historyIndexesOf } from './dialect.js';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('instances')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
        .addColumn('key_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('identity', 'varchar(128)', (c) => c.notNull())
        .addColumn('display_name', 'varchar(128)', (c) => c.notNull())
        .addColumn('extension', 'varchar(32)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('users_instance_identity', ['instance_id', 'identity'])
        .execute();
      await db.schema
        .createTable('calls')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('from_user_id', 'varchar(20)', (c) => c.notNull())
        .addColumn('to_user_id', 'varchar(20)')
        .addColumn('from_number', 'varchar(128)', (c) => c.notNull())
        .addColumn('to_number', 'varchar(128)', (c) => c.notNull())
        .addColumn('direction', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('disposition', 'varchar(16)')
        .addColumn('end_reason', 'varchar(32)')
        .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('answered_at', 'varchar(32)')
        .addColumn('ended_at', 'varchar(32)')
        .addColumn('duration', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('talk_time', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('calls_instance_started').on('calls').columns(['instance_id', 'started_at']).execute();
      await db.schema.createIndex('users_instance_extension').on('users').columns(['instance_id', 'extension']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['calls', 'users', 'api_keys', 'instances']) await db.schema.dropTable(table).execute();
    },
  },
  '0002_channels_and_bots': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('bots')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('name', 'varchar(80)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .execute();
      await db.schema
        .createTable('channels')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('type', 'varchar(8)', (c) => c.notNull())
        .addColumn('name', 'varchar(100)')
        .addColumn('rtc_region', 'varchar(64)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('channel_recipients')
        .addColumn('channel_id', 'varchar(20)', (c) => c.notNull().references('channels.id').onDelete('cascade'))
        .addColumn('recipient_id', 'varchar(20)', (c) => c.notNull())
        .addPrimaryKeyConstraint('channel_recipients_pk', ['channel_id', 'recipient_id'])
        .execute();
      await db.schema.createIndex('channel_recipients_recipient').on('channel_recipients').column('recipient_id').execute();
      await db.schema.alterTable('calls').addColumn('channel_id', 'varchar(20)').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('calls').dropColumn('channel_id').execute();
      for (const table of ['channel_recipients', 'channels', 'bots']) await db.schema.dropTable(table).execute();
    },
  },
  '0003_call_history': {
    async up(db: Kysely<unknown>) {
      // Set by the recording service (later): a call has a recording when this is not null.
      await db.schema.alterTable('calls').addColumn('recording_path', 'varchar(512)').execute();
      // Newest-first listing (started_at, id) and the date range; direction/disposition/duration ride along so
      // filtering on them and tallying a partial day read only the index.
      await db.schema.dropIndex('calls_instance_started').execute();
      await db.schema
        .createIndex('calls_instance_started_id')
        .on('calls')
        .columns(['instance_id', 'started_at', 'id', 'direction', 'disposition', 'duration'])
        .execute();
      await db.schema.createIndex('calls_instance_from').on('calls').columns(['instance_id', 'from_number', 'started_at', 'id']).execute();
      await db.schema.createIndex('calls_instance_to').on('calls').columns(['instance_id', 'to_number', 'started_at', 'id']).execute();
      // Day counters and the trigram search index, each dialect its own way.
      await historyIndexesOf(db).install(db);
    },
    async down(db: Kysely<unknown>) {
      await historyIndexesOf(db).drop(db);
      for (const index of ['calls_instance_to', 'calls_instance_from', 'calls_instance_started_id']) await db.schema.dropIndex(index).execute();
      await db.schema.createIndex('calls_instance_started').on('calls').columns(['instance_id', 'started_at']).execute();
      await db.schema.alterTable('calls').dropColumn('recording_path').execute();
    },
  },
  '0004_call_steps': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('call_steps')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('call_id', 'varchar(20)', (c) => c.notNull())
        .addColumn('time', 'varchar(32)', (c) => c.notNull())
        .addColumn('action', 'varchar(32)', (c) => c.notNull())
        .addColumn('from_number', 'varchar(128)', (c) => c.notNull())
        .addColumn('to_number', 'varchar(128)', (c) => c.notNull())
        .addColumn('duration', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('call_steps_call').on('call_steps').columns(['call_id', 'id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('call_steps').execute();
    },
  },
  '0005_queues_and_ivr': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('queues')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('number', 'varchar(32)', (c) => c.notNull())
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('strategy', 'varchar(16)', (c) => c.notNull())
        .addColumn('members', 'text', (c) => c.notNull())
        .addColumn('ring_timeout', 'integer', (c) => c.notNull())
        .addColumn('overflow', 'varchar(64)')
        .addColumn('record', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('queues_instance_number', ['instance_id', 'number'])
        .execute();
      await db.schema
        .createTable('ivr_menus')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('number', 'varchar(32)', (c) => c.notNull())
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('prompt_path', 'varchar(512)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('ivr_instance_number', ['instance_id', 'number'])
        .execute();
      // 0/1 rather than boolean: one representation on SQLite and PostgreSQL.
      await db.schema.alterTable('users').addColumn('record_calls', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('users').dropColumn('record_calls').execute();
      await db.schema.dropTable('ivr_menus').execute();
      await db.schema.dropTable('queues').execute();
    },
  },
  '0006_sip_trunks_and_numbers': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('trunks')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('host', 'varchar(253)', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('transport', 'varchar(8)', (c) => c.notNull())
        .addColumn('username', 'varchar(128)')
        .addColumn('password_sealed', 'text')
        .addColumn('realm', 'varchar(128)')
        .addColumn('caller_id', 'varchar(32)')
        .addColumn('register', 'integer', (c) => c.notNull())
        .addColumn('codecs', 'text', (c) => c.notNull())
        .addColumn('allowed_ips', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('trunks_instance_name', ['instance_id', 'name'])
        .execute();
      // At most one default trunk per instance.
      await db.schema.createIndex('trunks_one_default').on('trunks').column('instance_id').unique().where(sql.ref('is_default'), '=', 1).execute();
      await db.schema
        .createTable('phone_numbers')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('number', 'varchar(20)', (c) => c.notNull())
        .addColumn('plus', 'integer', (c) => c.notNull())
        .addColumn('destination', 'varchar(64)', (c) => c.notNull())
        .addColumn('destination_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('trunk_id', 'varchar(20)', (c) => c.references('trunks.id'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('phone_numbers_instance_number', ['instance_id', 'number'])
        .execute();
      await db.schema.createIndex('phone_numbers_trunk').on('phone_numbers').column('trunk_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('phone_numbers').execute();
      await db.schema.dropTable('trunks').execute();
    },
  },
  '0007_instances_agents_webhooks': {
    async up(db: Kysely<unknown>) {
      // Seed 003: one voice channel per instance; every credential sealed together, their names kept in the clear.
      await db.schema
        .createTable('voice_channels')
        .addColumn('instance_id', 'varchar(36)', (c) => c.primaryKey().references('instances.id'))
        .addColumn('provider', 'varchar(32)', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('phone_number', 'varchar(32)')
        .addColumn('agent_id', 'varchar(128)')
        .addColumn('twilio_phone_number', 'varchar(32)')
        .addColumn('credentials_sealed', 'text')
        .addColumn('credential_names', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('agents')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('key', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(128)', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('language', 'varchar(16)', (c) => c.notNull())
        .addColumn('provider', 'varchar(32)', (c) => c.notNull())
        .addColumn('url', 'varchar(2048)')
        .addColumn('provider_agent_id', 'varchar(128)')
        .addColumn('greeting', 'text')
        .addColumn('prompt', 'text')
        .addColumn('voice', 'varchar(64)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('agents_instance_key', ['instance_id', 'key'])
        .execute();
      // Every call an agent takes part in (seed 004's call object), keyed by the internal call id.
      await db.schema
        .createTable('agent_calls')
        .addColumn('call_id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('service_id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('agent_key', 'varchar(64)', (c) => c.notNull())
        .addColumn('phone', 'varchar(128)', (c) => c.notNull())
        .addColumn('direction', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('provider_call_id', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('result_status', 'varchar(16)')
        .addColumn('result_transcript', 'text')
        .addColumn('result_duration', 'integer')
        .addColumn('result_at', 'varchar(32)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('answered_at', 'varchar(32)')
        .addColumn('ended_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('agent_calls_instance_created').on('agent_calls').columns(['instance_id', 'created_at']).execute();
      await db.schema
        .createTable('agent_turns')
        .addColumn('call_id', 'varchar(20)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('role', 'varchar(8)', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_turns_pk', ['call_id', 'seq'])
        .execute();
      // Outgoing event webhooks and their persisted delivery queue (survives restarts).
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull().references('instances.id'))
        .addColumn('url', 'varchar(2048)', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('webhook_id', 'varchar(20)', (c) => c.notNull())
        .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('event_id', 'varchar(20)', (c) => c.notNull())
        .addColumn('event_type', 'varchar(64)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'varchar(32)')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('delivered_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['webhook_deliveries', 'webhooks', 'agent_turns', 'agent_calls', 'agents', 'voice_channels']) await db.schema.dropTable(table).execute();
    },
  },
  '0008_call_heartbeat': {
    // The last moment the server knew a live call alive: a call left open by a kill ends there at the next start.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('calls').addColumn('last_seen_at', 'varchar(32)').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('calls').dropColumn('last_seen_at').execute();
    },
  },
  '0009_agent_vendors': {
    // An agent's pipeline vendors (speech-to-text, LLM, text-to-speech), its LLM model and per-vendor base URLs.
    async up(db: Kysely<unknown>) {
      for (const column of ['stt', 'llm', 'tts']) await db.schema.alterTable('agents').addColumn(column, 'varchar(16)').execute();
      await db.schema.alterTable('agents').addColumn('llm_model', 'varchar(128)').execute();
      await db.schema.alterTable('agents').addColumn('base_urls', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const column of ['stt', 'llm', 'tts', 'llm_model', 'base_urls']) await db.schema.alterTable('agents').dropColumn(column).execute();
    },
  },
  '0010_call_number_search': {
    // PostgreSQL's search index finds numbers in a table of distinct numbers, ids in its side table (call-history-postgres.ts).
    async up(db: Kysely<unknown>) {
      await historyIndexesOf(db).upgradeSearch(db);
    },
    // Derived data, rebuilt from `calls` in its present shape whichever way the migrations run: 0003's down drops it.
    async down() {},
  },
  '0011_call_party_ids': {
    // A call's parties are not only users (snowflakes): `pstn:<uuid>` (a SIP leg), `agent:<key>`, `route:<number>`.
    // SQLite never enforced the 20 characters; PostgreSQL refused those calls' records.
    async up(db: Kysely<unknown>) {
      if (dialectOf(db) !== 'postgres') return;
      for (const column of ['from_user_id', 'to_user_id']) await db.schema.alterTable('calls').alterColumn(column, (c) => c.setDataType('varchar(128)')).execute();
    },
    async down(db: Kysely<unknown>) {
      if (dialectOf(db) !== 'postgres') return;
      for (const column of ['from_user_id', 'to_user_id']) await db.schema.alterTable('calls').alterColumn(column, (c) => c.setDataType('varchar(20)')).execute();
    },
  },
  '0012_search_count_cover': {
    // PostgreSQL counts a search's hits from its (instance, number) indexes alone: calls_instance_to also holds from_number.
    async up(db: Kysely<unknown>) {
      await historyIndexesOf(db).coverSearchCount(db, true);
    },
    async down(db: Kysely<unknown>) {
      await historyIndexesOf(db).coverSearchCount(db, false);
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

