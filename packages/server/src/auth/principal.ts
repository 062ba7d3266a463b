// Principals: who a REST request or socket acts as — a user (widget token) or a bot (bot token).
import type { PartyInfo } from '@astral/protocol';
import { AppError } from '../util/errors.js';
import { BOT_TOKEN_PREFIX, type BotService } from './bots.js';
import type { WidgetTokens } from './widget-tokens.js';

export interface Principal {
  /**
   * `trunk`: a caller or callee on the phone network, reached through a SIP trunk; `agent`: an AI agent the server runs.
   * Neither authenticates itself.
   */
  kind: 'user' | 'bot' | 'trunk' | 'agent';
  instanceId: string;
  party: PartyInfo;
  /** When the credential it authenticated with stops being valid (a widget token); bots hold theirs until revoked. */
  expiresAt?: Date;
}

export class PrincipalResolver {
  constructor(
    private readonly tokens: WidgetTokens,
    private readonly bots: BotService,
  ) {}

  /** A bare token, as a socket handshake carries it: bot tokens by prefix, else a widget JWT. */
  async fromToken(token: string | undefined): Promise<Principal> {
    if (token?.startsWith(BOT_TOKEN_PREFIX)) return this.bot(token);
    const claims = await this.tokens.verify(token);
    return {
      kind: 'user',
      instanceId: claims.instanceId,
      party: { userId: claims.userId, identity: claims.identity, displayName: claims.displayName, extension: claims.extension },
      expiresAt: claims.expiresAt,
    };
  }

  /** `Authorization: Bot <token>` or `Authorization: Bearer <widget token>`. */
  async fromHeader(header: string | undefined): Promise<Principal> {
    const match = /^(Bot|Bearer)\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new AppError('unauthorized', 'missing or malformed Authorization header (use "Bot <token>" or "Bearer <token>")');
    const [, scheme, token] = match;
    if (scheme!.toLowerCase() === 'bot') return this.bot(token!);
    if (token!.startsWith(BOT_TOKEN_PREFIX)) throw new AppError('unauthorized', 'bot tokens use "Authorization: Bot <token>"');
    return this.fromToken(token);
  }

  private async bot(token: string): Promise<Principal> {
    const bot = await this.bots.authenticate(token);
    return { kind: 'bot', instanceId: bot.instance_id, party: { userId: bot.id, identity: bot.name, displayName: bot.name, extension: null } };
  }
}
