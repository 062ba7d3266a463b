// TokenSource: a fixed widget token, or one fetched from the site's token URL and refreshed before it expires.
import { AstralError } from './signaling.js';

/** Refresh this long before expiry (or at 80% of a short token's life). */
const REFRESH_MARGIN_MS = 60_000;

export class TokenSource {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private token: string | undefined,
    private readonly tokenUrl: string | undefined,
  ) {}

  /** The current token, fetching one first when only a URL was given. */
  async get(): Promise<string> {
    if (!this.token && this.tokenUrl) await this.fetch();
    if (!this.token) throw new AstralError('unauthorized', 'no token: set the token or token-url attribute');
    return this.token;
  }

  /** Fetches a fresh token from the URL (no-op for a fixed token); returns whether it could. */
  async refresh(): Promise<boolean> {
    if (!this.tokenUrl) return false;
    await this.fetch();
    return true;
  }

  /** Calls `onToken` with each refreshed token until stopped. */
  startRefreshing(onToken: (token: string) => void, onError: (err: AstralError) => void): void {
    if (!this.tokenUrl || !this.token) return;
    this.stop();
    const expiresAt = tokenExpiry(this.token);
    if (expiresAt === null) return;
    const ttl = expiresAt - Date.now();
    const delay = Math.max(5_000, ttl > 2 * REFRESH_MARGIN_MS ? ttl - REFRESH_MARGIN_MS : ttl * 0.8);
    this.timer = setTimeout(() => {
      this.fetch().then(
        () => {
          onToken(this.token!);
          this.startRefreshing(onToken, onError);
        },
        (err: unknown) => onError(err instanceof AstralError ? err : new AstralError('unauthorized', String(err))),
      );
    }, delay);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async fetch(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.tokenUrl!, { credentials: 'include', headers: { accept: 'application/json' } });
    } catch {
      throw new AstralError('unavailable', `could not reach the token URL ${this.tokenUrl}`);
    }
    const body = (await res.json().catch(() => null)) as { token?: unknown } | null;
    if (!res.ok || typeof body?.token !== 'string') {
      throw new AstralError('unauthorized', `the token URL answered ${res.status} without a token`);
    }
    this.token = body.token;
  }
}

/** Reads `exp` from a JWT without verifying it (the server verifies); ms since epoch, or null. */
export function tokenExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}
