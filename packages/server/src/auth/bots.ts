// Bot tokens: `bt_` + 32 random bytes, shown once at creation and kept only as a SHA-256 hash.
import { createHash, randomBytes } from 'node:crypto';
import type { BotRow, BotStore } from '../store/bots.js';
import type { SnowflakeGenerator } from '../util/snowflake.js';
import { AppError } from '../util/errors.js';

export const BOT_TOKEN_PREFIX = 'bt_';
const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export class BotService {
  /** Called with a bot's id once it is revoked (the gateway closes its sockets). */
  onRevoked: (botId: string) => void = () => undefined;

  constructor(
    private readonly store: BotStore,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async create(instanceId: string, name: string): Promise<{ id: string; name: string; token: string }> {
    const token = `${BOT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const id = this.ids.next();
    await this.store.insert({ id, instance_id: instanceId, name, token_hash: hash(token), created_at: new Date().toISOString() });
    return { id, name, token };
  }

  async authenticate(token: string): Promise<BotRow> {
    const bot = await this.store.activeByHash(hash(token));
    if (!bot) throw new AppError('unauthorized', 'invalid or revoked bot token');
    return bot;
  }

  async revoke(instanceId: string, id: string): Promise<void> {
    if (!(await this.store.revoke(instanceId, id))) throw new AppError('not_found', `no active bot ${id}`);
    this.onRevoked(id);
  }
}
