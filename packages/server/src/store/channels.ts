// Channels: DMs and groups of users and bots, each with an optional fixed RTC region.
import type { Db } from './db.js';

export interface Channel {
  id: string;
  instanceId: string;
  type: 'dm' | 'group';
  name: string | null;
  rtcRegion: string | null;
  recipients: string[];
}

export class ChannelStore {
  constructor(private readonly db: Db) {}

  async insert(channel: Channel): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('channels')
        .values({
          id: channel.id,
          instance_id: channel.instanceId,
          type: channel.type,
          name: channel.name,
          rtc_region: channel.rtcRegion,
          created_at: new Date().toISOString(),
        })
        .execute();
      await tx
        .insertInto('channel_recipients')
        .values(channel.recipients.map((recipient_id) => ({ channel_id: channel.id, recipient_id })))
        .execute();
    });
  }

  async get(instanceId: string, id: string): Promise<Channel | undefined> {
    const row = await this.db.selectFrom('channels').selectAll().where('instance_id', '=', instanceId).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const recipients = await this.db.selectFrom('channel_recipients').select('recipient_id').where('channel_id', '=', id).orderBy('recipient_id').execute();
    return {
      id: row.id,
      instanceId: row.instance_id,
      type: row.type,
      name: row.name,
      rtcRegion: row.rtc_region,
      recipients: recipients.map((r) => r.recipient_id),
    };
  }

  async setRegion(id: string, region: string | null): Promise<void> {
    await this.db.updateTable('channels').set({ rtc_region: region }).where('id', '=', id).execute();
  }

  /** Which of these ids are users or active bots of the instance. */
  async existingPrincipals(instanceId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const [users, bots] = await Promise.all([
      this.db.selectFrom('users').select('id').where('instance_id', '=', instanceId).where('id', 'in', ids).execute(),
      this.db.selectFrom('bots').select('id').where('instance_id', '=', instanceId).where('id', 'in', ids).where('revoked_at', 'is', null).execute(),
    ]);
    return new Set([...users, ...bots].map((r) => r.id));
  }
}
