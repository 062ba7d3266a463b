// Issues widget tokens for identities: creates the user on first use and binds its extension.
import { DEFAULT_TOKEN_TTL_SECONDS, type CreateTokenBody, type TokenResponse } from '@astral/protocol';
import type { UserStore } from '../store/users.js';
import { AppError } from '../util/errors.js';
import type { WidgetTokens } from './widget-tokens.js';

export class TokenIssuer {
  constructor(
    private readonly users: UserStore,
    private readonly tokens: WidgetTokens,
  ) {}

  async issue(instanceId: string, body: CreateTokenBody): Promise<TokenResponse> {
    if (body.extension) {
      const holder = await this.users.extensionHolder(instanceId, body.extension, body.identity);
      if (holder) throw new AppError('conflict', `extension ${body.extension} already belongs to "${holder.identity}"`);
    }
    const user = await this.users.upsert({
      instanceId,
      identity: body.identity,
      displayName: body.display_name,
      extension: body.extension,
      recordCalls: body.record_calls,
    });
    const { token, expiresAt } = await this.tokens.mint(
      {
        userId: user.id,
        instanceId,
        identity: user.identity,
        displayName: user.display_name,
        extension: user.extension,
      },
      body.ttl_seconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    );
    return { token, expires_at: expiresAt.toISOString(), identity: user.identity, user_id: user.id };
  }
}
