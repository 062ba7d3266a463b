// The voice channel of an instance (seed 003): its provider, phone numbers and vendor credentials, the credentials
// sealed together as one JSON object (SecretBox, SecretPurposes.voiceCredentials); only credentials() opens them.
import type { Selectable } from 'kysely';
import { SecretBoxError, type SecretBox } from '../auth/secret-box.js';
import { AppError } from '../util/errors.js';
import type { Db } from './db.js';
import type { VoiceChannelsTable } from './schema.js';
import { writeUnique } from './unique-keys.js';

export const VOICE_PROVIDERS = ['retell', 'pipecat'] as const;
export type VoiceProvider = (typeof VOICE_PROVIDERS)[number];

/** The secrets of a voice channel: kept sealed, never returned, never logged. */
export const VOICE_CREDENTIALS = [
  'api_key',
  'openai_api_key',
  'anthropic_api_key',
  'deepgram_api_key',
  'elevenlabs_api_key',
  'cartesia_api_key',
  'google_api_key',
  'twilio_account_sid',
  'twilio_auth_token',
  'webhook_secret',
] as const;
export type VoiceCredential = (typeof VOICE_CREDENTIALS)[number];

/** The settings kept in the clear. */
export interface VoiceSettings {
  provider: VoiceProvider;
  phoneNumber: string | null;
  /** Retell agent/assistant id. */
  agentId: string | null;
  twilioPhoneNumber: string | null;
}

export interface VoiceChannel extends VoiceSettings {
  instanceId: string;
  enabled: boolean;
  /** The names of the credentials that are set. */
  credentialNames: VoiceCredential[];
  createdAt: string;
  updatedAt: string;
}

/** A POST's changes: omitted (undefined) keeps a value; an empty string clears a setting or a credential. */
export interface VoiceChannelChanges {
  provider?: VoiceProvider;
  phoneNumber?: string;
  agentId?: string;
  twilioPhoneNumber?: string;
  credentials: Partial<Record<VoiceCredential, string>>;
}

type Row = Selectable<VoiceChannelsTable>;

const toChannel = (r: Row): VoiceChannel => ({
  instanceId: r.instance_id,
  provider: r.provider as VoiceProvider,
  enabled: Boolean(r.enabled),
  phoneNumber: r.phone_number,
  agentId: r.agent_id,
  twilioPhoneNumber: r.twilio_phone_number,
  credentialNames: JSON.parse(r.credential_names) as VoiceCredential[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What a provider needs before its channel can take calls. */
export function missingForProvider(channel: VoiceChannel): string[] {
  if (channel.provider !== 'retell') return [];
  return [...(channel.credentialNames.includes('api_key') ? [] : ['api_key']), ...(channel.agentId ? [] : ['agent_id'])];
}

/** The stored credentials, to be merged with a POST's; 409 when they no longer open (ASTRAL_SECRET_KEY changed). */
function openForUpdate(sealed: string, box: SecretBox): Record<string, string> {
  try {
    return JSON.parse(box.open(sealed)) as Record<string, string>;
  } catch (err) {
    if (!(err instanceof SecretBoxError)) throw err;
    throw new AppError('conflict', 'the stored credentials no longer open (the secret key changed): DELETE the voice channel and set it up again');
  }
}

const merged = (change: string | undefined, current: string | null): string | null => (change === undefined ? current : change || null);

export class VoiceChannelStore {
  constructor(private readonly db: Db) {}

  async get(instanceId: string): Promise<VoiceChannel | undefined> {
    const row = await this.db.selectFrom('voice_channels').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
    return row && toChannel(row);
  }

  /** Creates the instance's channel (provider `retell` unless given) or updates it, and enables it. */
  async configure(instanceId: string, changes: VoiceChannelChanges, box: SecretBox): Promise<VoiceChannel> {
    const now = new Date().toISOString();
    // Two first set-ups at once: the later one's insert clashes and re-runs as an update of the earlier one's row.
    await writeUnique(() => this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('voice_channels').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
      const secrets = row?.credentials_sealed ? openForUpdate(row.credentials_sealed, box) : {};
      for (const [name, value] of Object.entries(changes.credentials)) {
        if (value) secrets[name] = value;
        else delete secrets[name];
      }
      const names = VOICE_CREDENTIALS.filter((n) => secrets[n] !== undefined);
      const values = {
        provider: changes.provider ?? (row?.provider as VoiceProvider | undefined) ?? 'retell',
        enabled: 1,
        phone_number: merged(changes.phoneNumber, row?.phone_number ?? null),
        agent_id: merged(changes.agentId, row?.agent_id ?? null),
        twilio_phone_number: merged(changes.twilioPhoneNumber, row?.twilio_phone_number ?? null),
        credentials_sealed: names.length > 0 ? box.seal(JSON.stringify(secrets)) : null,
        credential_names: JSON.stringify(names),
        updated_at: now,
      };
      if (row) await trx.updateTable('voice_channels').set(values).where('instance_id', '=', instanceId).execute();
      else await trx.insertInto('voice_channels').values({ instance_id: instanceId, created_at: now, ...values }).execute();
    }), 'the voice channel was set up at the same time; try again');
    return (await this.get(instanceId))!;
  }

  /** Removes the channel and its credentials; false when the instance had none. */
  async remove(instanceId: string): Promise<boolean> {
    const res = await this.db.deleteFrom('voice_channels').where('instance_id', '=', instanceId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** The channel's credentials in clear (empty without a channel); throws SecretBoxError if they do not open. Never log them. */
  async credentials(instanceId: string, box: SecretBox): Promise<Partial<Record<VoiceCredential, string>>> {
    const row = await this.db.selectFrom('voice_channels').select('credentials_sealed').where('instance_id', '=', instanceId).executeTakeFirst();
    return row?.credentials_sealed ? (JSON.parse(box.open(row.credentials_sealed)) as Partial<Record<VoiceCredential, string>>) : {};
  }

  /** The provider's webhook signing secret, or null when none is set. */
  async webhookSecret(instanceId: string, box: SecretBox): Promise<string | null> {
    return (await this.credentials(instanceId, box)).webhook_secret ?? null;
  }
}
