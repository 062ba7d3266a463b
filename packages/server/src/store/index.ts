// The persistence facade the rest of the server sees: one object holding each table's store.
import { sql } from 'kysely';
import { SnowflakeGenerator } from '../util/snowflake.js';
import { AgentCallStore } from './agent-calls.js';
import { AgentStore } from './agents.js';
import { ApiKeyStore } from './api-keys.js';
import { BotStore } from './bots.js';
import { CallHistoryStore } from './call-history.js';
import { CallStore } from './calls.js';
import { ChannelStore } from './channels.js';
import { openDatabase, type DatabaseLocation, type Db } from './db.js';
import { InstanceStore } from './instances.js';
import { JourneyStore } from './journeys.js';
import { NumberStore } from './numbers.js';
import { RoutingStore } from './routing.js';
import { TrunkStore } from './trunks.js';
import { UserStore } from './users.js';
import { VoiceChannelStore } from './voice-channels.js';
import { WebhookStore } from './webhooks.js';

export class Store {
  readonly instances: InstanceStore;
  readonly apiKeys: ApiKeyStore;
  readonly users: UserStore;
  readonly calls: CallStore;
  readonly callHistory: CallHistoryStore;
  readonly bots: BotStore;
  readonly channels: ChannelStore;
  readonly journeys: JourneyStore;
  readonly routing: RoutingStore;
  readonly trunks: TrunkStore;
  readonly numbers: NumberStore;
  readonly agentCalls: AgentCallStore;
  readonly voiceChannels: VoiceChannelStore;
  readonly agents: AgentStore;
  readonly webhooks: WebhookStore;

  private constructor(
    readonly db: Db,
    readonly ids: SnowflakeGenerator,
  ) {
    this.instances = new InstanceStore(db);
    this.apiKeys = new ApiKeyStore(db, ids);
    this.users = new UserStore(db, ids);
    this.calls = new CallStore(db);
    this.callHistory = new CallHistoryStore(db);
    this.bots = new BotStore(db);
    this.channels = new ChannelStore(db);
    this.journeys = new JourneyStore(db);
    this.routing = new RoutingStore(db);
    this.trunks = new TrunkStore(db, ids);
    this.numbers = new NumberStore(db, ids);
    this.agentCalls = new AgentCallStore(db);
    this.voiceChannels = new VoiceChannelStore(db);
    this.agents = new AgentStore(db, ids);
    this.webhooks = new WebhookStore(db, ids);
  }

  /** Whether the database answers a query (readiness). */
  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  static async open(location: DatabaseLocation, ids = new SnowflakeGenerator()): Promise<Store> {
    return new Store(await openDatabase(location), ids);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
