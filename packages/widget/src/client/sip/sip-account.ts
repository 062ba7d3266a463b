// Resolves the SIP account for the sip engine: fixed options, or the site's token URL answering `{"sip": {...}}`.
import type { SipAccount, SipClientOptions } from './sip-types.js';

/** An error with a machine-readable code, shaped like AstralError (name, code, message). */
export class SipError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AstralError';
  }
}

export function toSipError(err: unknown, code = 'internal'): SipError {
  if (err instanceof SipError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  return new SipError(typeof e?.code === 'string' ? e.code : code, typeof e?.message === 'string' ? e.message : String(err));
}

function checkAccount(value: unknown, source: string): SipAccount {
  const a = value as Partial<SipAccount> | null;
  if (!a || typeof a.server !== 'string' || !/^wss?:\/\//.test(a.server)) {
    throw new SipError('unauthorized', `${source}: sip.server must be a ws:// or wss:// URL`);
  }
  if (typeof a.uri !== 'string' || !/^sips?:[^@\s]+@[^@\s]+$/.test(a.uri)) throw new SipError('unauthorized', `${source}: sip.uri must be sip:user@domain`);
  for (const key of ['password', 'authorization_user', 'display_name'] as const) {
    if (a[key] !== undefined && typeof a[key] !== 'string') throw new SipError('unauthorized', `${source}: sip.${key} must be a string`);
  }
  if (a.ice_servers !== undefined && !(Array.isArray(a.ice_servers) && a.ice_servers.every((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls))))) {
    throw new SipError('unauthorized', `${source}: sip.ice_servers must be a list of {urls, username?, credential?}`);
  }
  return a as SipAccount;
}

/** The account to register with: `options.account`, or a fresh one from `options.tokenUrl`. */
export async function resolveAccount(options: SipClientOptions): Promise<SipAccount> {
  if (!options.tokenUrl) {
    if (!options.account) throw new SipError('unauthorized', 'no SIP account: set sip-server and sip-uri (or token-url)');
    return checkAccount(options.account, 'sip attributes');
  }
  let res: Response;
  try {
    res = await fetch(options.tokenUrl, { credentials: 'include', headers: { accept: 'application/json' } });
  } catch {
    throw new SipError('unavailable', `could not reach the token URL ${options.tokenUrl}`);
  }
  const body = (await res.json().catch(() => null)) as { sip?: unknown } | null;
  if (!res.ok || !body?.sip) throw new SipError('unauthorized', `the token URL answered ${res.status} without a sip account`);
  return checkAccount(body.sip, 'token URL');
}

/** `1002` → `sip:1002@<domain of the account>`; full `sip:` URIs pass through. */
export function targetUri(destination: string, account: SipAccount): string {
  const d = destination.trim();
  if (/^sips?:/.test(d)) return d;
  const domain = account.uri.slice(account.uri.indexOf('@') + 1);
  return d.includes('@') ? `sip:${d}` : `sip:${d}@${domain}`;
}
