// REST request/response schemas (TypeBox: JSON Schema for fastify, static types for TypeScript).
import { Type, type Static } from '@sinclair/typebox';

export const Identity = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.@+-]+$' });
export const Extension = Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9*#+]+$' });

export const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export const CreateTokenBody = Type.Object(
  {
    identity: Identity,
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    extension: Type.Optional(Extension),
    ttl_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_TOKEN_TTL_SECONDS })),
    /** Record this user's calls (default true); false switches recording off for the extension. */
    record_calls: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

export const TokenResponse = Type.Object({
  token: Type.String(),
  expires_at: Type.String(),
  identity: Type.String(),
  user_id: Type.String(),
});
export type TokenResponse = Static<typeof TokenResponse>;

/** An answer with no body (204). */
export const NoContent = Type.Null({ description: 'No Content' });

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
});

/** API key permissions. `admin` holds them all. */
export const Permissions = [
  'admin',
  'tokens.create',
  'calls.read',
  'calls.recording',
  'calls.control',
  'calls.click_to_call',
  'channels.manage',
  /** Seed 004's service API: place agent calls, read them, list agents. */
  'agents.call',
] as const;
export type Permission = (typeof Permissions)[number];
