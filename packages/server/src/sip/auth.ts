// Digest authentication (RFC 2617/7616 MD5): answering a trunk's 401/407 (the library's digest.signRequest), and
// challenging / verifying INVITEs we receive (our own HMAC nonces, each nonce-count accepted once, the digest-uri
// bound to the Request-URI). Never logs passwords or Authorization values.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import sip, { type AuthHeader, type SipMessage } from 'sip';
import digest, { type DigestClientContext } from 'sip/digest.js';

export const unq = (s: string | undefined): string | undefined =>
  s !== undefined && s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;

export interface Credentials {
  username: string | null;
  password: string | null;
  realm: string | null;
}

/**
 * Adds (Proxy-)Authorization to `rq` answering the challenge in `rs` (401/407). Picks the challenge for `realm`
 * when one matches, else the first Digest challenge. Returns the context for signing later requests, or null when
 * there is nothing to answer with.
 */
export function answerChallenge(rq: SipMessage, rs: SipMessage, creds: Credentials): DigestClientContext | null {
  if (!creds.username || creds.password === null) return null;
  const headers = (rs.status === 407 ? rs.headers['proxy-authenticate'] : rs.headers['www-authenticate']) ?? [];
  const digests = headers.filter((h) => (h.scheme ?? '').toLowerCase() === 'digest' && h.nonce);
  const pick = digests.find((h) => creds.realm && unq(h.realm) === creds.realm) ?? digests[0];
  if (!pick) return null;
  const alg = (unq(pick.algorithm) ?? 'md5').toLowerCase();
  if (alg !== 'md5' && alg !== 'md5-sess') return null;
  const realm = unq(pick.realm) ?? creds.realm ?? '';
  const only: SipMessage = { ...rs, headers: { ...rs.headers, [rs.status === 407 ? 'proxy-authenticate' : 'www-authenticate']: [pick] } };
  try {
    const ctx: DigestClientContext = {};
    digest.signRequest(ctx, rq, only, { user: creds.username, password: creds.password, realm });
    fixAlgorithm(rq);
    return ctx;
  } catch {
    return null;
  }
}

/** Signs `rq` again with an earlier context (REGISTER refreshes reuse the nonce with the next nc). */
export function resign(ctx: DigestClientContext, rq: SipMessage): void {
  digest.signRequest(ctx, rq);
  fixAlgorithm(rq);
}

function fixAlgorithm(rq: SipMessage): void {
  for (const name of ['authorization', 'proxy-authorization'] as const) {
    for (const h of rq.headers[name] ?? []) {
      if (h.algorithm === 'md5') h.algorithm = 'MD5';
      if (h.algorithm === 'md5-sess') h.algorithm = 'MD5-sess';
    }
  }
}

/**
 * Nonces we issue: timestamp + random salt + HMAC, valid for `ttlMs` (the salt keeps two challenges in the same
 * millisecond apart, as each nonce's counts are tracked). Each successful use is recorded (`use`): a nonce-count is
 * accepted once (the same request may be checked again, e.g. against several trunks' passwords), later uses need a
 * higher one; without qop (no nc) a nonce is good for one request.
 */
export class NonceIssuer {
  private readonly secret = randomBytes(32);
  /** nonce → the highest nc accepted and the request (Call-ID + branch + CSeq) that used it; insertion-ordered. */
  private readonly used = new Map<string, { nc: number; request: string; expires: number }>();
  constructor(private readonly ttlMs = 5 * 60_000) {}

  issue(): string {
    const stamp = `${Date.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
    return `${stamp}.${this.mac(stamp)}`;
  }

  valid(nonce: string): boolean {
    const [ts, salt, mac] = nonce.split('.');
    if (!ts || !salt || !mac) return false;
    const expected = Buffer.from(this.mac(`${ts}.${salt}`));
    const got = Buffer.from(mac);
    if (expected.length !== got.length || !timingSafeEqual(expected, got)) return false;
    const age = Date.now() - parseInt(ts, 36);
    return age >= -5_000 && age <= this.ttlMs;
  }

  /** Whether `request` may use `nonce` with nonce-count `nc` (0: no qop); records the use when it may. */
  use(nonce: string, nc: number, request: string): boolean {
    const now = Date.now();
    for (const [n, u] of this.used) {
      if (u.expires > now) break;
      this.used.delete(n);
    }
    const seen = this.used.get(nonce);
    if (seen) {
      if (nc === seen.nc && request === seen.request) return true;
      if (nc <= seen.nc) return false;
      seen.nc = nc;
      seen.request = request;
      return true;
    }
    // The sweep above stops at the first live entry: one first used late delays the others' removal by at most a TTL.
    const ts = parseInt(nonce.split('.')[0] ?? '', 36);
    this.used.set(nonce, { nc, request, expires: (Number.isFinite(ts) ? ts : now) + this.ttlMs + 5_000 });
    return true;
  }

  private mac(ts: string): string {
    return createHmac('sha256', this.secret).update(ts).digest('base64url').slice(0, 22);
  }
}

export function challengeHeader(realm: string, nonce: string): AuthHeader {
  return { scheme: 'Digest', realm: `"${realm.replace(/["\\]/g, '')}"`, nonce: `"${nonce}"`, algorithm: 'MD5', qop: '"auth"' };
}

/** The INVITE's Digest credentials (Authorization, else Proxy-Authorization). */
export function findAuthorization(m: SipMessage): AuthHeader | null {
  const all = [...(m.headers.authorization ?? []), ...(m.headers['proxy-authorization'] ?? [])];
  return all.find((h) => (h.scheme ?? '').toLowerCase() === 'digest' && unq(h.username) !== undefined && unq(h.response)) ?? null;
}

/**
 * Whether the digest-uri names the Request-URI (RFC 3261 §22.4): scheme, host (case-insensitive) and port equal, and
 * the user part when the digest-uri has one. A digest-uri without the user is accepted: SIPp and some carriers send
 * `sip:host:port`; the nonce-count check keeps such credentials single-use anyway.
 */
function sameUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const a = sip.parseUri(digestUri);
  const b = sip.parseUri(requestUri);
  if (!a || !b || !a.host || !b.host) return false;
  const port = (u: typeof a) => u.port || ((u.schema ?? '').toLowerCase() === 'sips' ? 5061 : 5060);
  if ((a.schema ?? '').toLowerCase() !== (b.schema ?? '').toLowerCase()) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || port(a) !== port(b)) return false;
  return a.user === undefined || a.user === '' || a.user === b.user;
}

/**
 * Checks a Digest response against `password`: the nonce one of ours and fresh, the digest-uri the Request-URI, the
 * response right, and (recorded only when all that holds) the nonce-count not seen before for this nonce.
 */
export function verifyDigest(m: SipMessage, auth: AuthHeader, password: string, nonces: NonceIssuer): boolean {
  const username = unq(auth.username) ?? '';
  const realm = unq(auth.realm) ?? '';
  const nonce = unq(auth.nonce) ?? '';
  const uri = unq(auth.uri) ?? '';
  const response = (unq(auth.response) ?? '').toLowerCase();
  const qop = unq(auth.qop)?.toLowerCase();
  const alg = (unq(auth.algorithm) ?? 'md5').toLowerCase();
  if (!nonce || !nonces.valid(nonce) || !response) return false;
  if (qop && qop !== 'auth') return false;
  if (alg !== 'md5' && alg !== 'md5-sess') return false;
  const cnonce = unq(auth.cnonce);
  const nc = unq(auth.nc);
  if (qop && (!cnonce || !nc || !/^[0-9a-f]{8}$/i.test(nc))) return false;
  if (!uri || typeof m.uri !== 'string' || !sameUri(uri, m.uri)) return false;
  let ha1 = digest.kd(username, realm, password);
  if (alg === 'md5-sess') ha1 = digest.kd(ha1, nonce, cnonce ?? '');
  const expected = digest.calculateDigest({ ha1, method: m.method ?? '', nonce, nc, cnonce, qop, uri });
  const a = Buffer.from(expected);
  const b = Buffer.from(response);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return false;
  const h = m.headers;
  return nonces.use(nonce, qop ? parseInt(nc!, 16) : 0, `${h['call-id']};${h.via[0]?.params.branch ?? ''};${h.cseq.seq}`);
}
