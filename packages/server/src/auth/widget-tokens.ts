// Widget tokens: short-lived HS256 JWTs a site's backend mints for its page; the widget never holds an API key.
import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../util/errors.js';

const ISSUER = 'astral';
const AUDIENCE = 'astral-widget';

/** Who a widget session is, as carried in its token. */
export interface WidgetClaims {
  userId: string;
  instanceId: string;
  identity: string;
  displayName: string;
  extension: string | null;
}

/** Verified claims and when the token stops being valid. */
export type VerifiedWidgetClaims = WidgetClaims & { expiresAt: Date };

export class WidgetTokens {
  constructor(private readonly secret: Uint8Array) {}

  async mint(claims: WidgetClaims, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Math.floor(Date.now() / 1000 + ttlSeconds) * 1000);
    const token = await new SignJWT({
      iid: claims.instanceId,
      idn: claims.identity,
      name: claims.displayName,
      ext: claims.extension,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.secret);
    return { token, expiresAt };
  }

  async verify(token: string | undefined): Promise<VerifiedWidgetClaims> {
    if (!token) throw new AppError('unauthorized', 'missing widget token');
    try {
      const { payload } = await jwtVerify(token, this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.iid !== 'string' || typeof payload.idn !== 'string' || typeof payload.exp !== 'number') {
        throw new AppError('unauthorized', 'widget token is missing claims');
      }
      return {
        userId: payload.sub,
        instanceId: payload.iid,
        identity: payload.idn,
        displayName: typeof payload.name === 'string' ? payload.name : payload.idn,
        extension: typeof payload.ext === 'string' ? payload.ext : null,
        expiresAt: new Date(payload.exp * 1000),
      };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof errors.JWTExpired) throw new AppError('token_expired', 'widget token has expired');
      throw new AppError('unauthorized', 'invalid widget token');
    }
  }
}
