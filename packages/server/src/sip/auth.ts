// Digest authentication (RFC 2617/7616 MD5): answering a trunk's 401/407 (the library's digest.signRequest), and
// challenging / verifying INVITEs we receive (our own HMAC nonces). Never logs passwords or Authorization values.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthHeader, SipMessage } from 'sip';
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

/** Nonces we issue: timestamp + HMAC, valid for `ttlMs`. */
export class NonceIssuer {
  private readonly secret = randomBytes(32);
  constructor(private readonly ttlMs = 5 * 60_000) {}

  issue(): string {
    const ts = Date.now().toString(36);
    return `${ts}.${this.mac(ts)}`;
  }

  valid(nonce: string): boolean {
    const [ts, mac] = nonce.split('.');
    if (!ts || !mac) return false;
    const expected = Buffer.from(this.mac(ts));
    const got = Buffer.from(mac);
    if (expected.length !== got.length || !timingSafeEqual(expected, got)) return false;
    const age = Date.now() - parseInt(ts, 36);
    return age >= -5_000 && age <= this.ttlMs;
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

/** Checks a Digest response against `password` (and that the nonce is one of ours, still fresh). */
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
  if (qop && (!cnonce || !nc)) return false;
  let ha1 = digest.kd(username, realm, password);
  if (alg === 'md5-sess') ha1 = digest.kd(ha1, nonce, cnonce ?? '');
  const expected = digest.calculateDigest({ ha1, method: m.method ?? '', nonce, nc, cnonce, qop, uri });
  const a = Buffer.from(expected);
  const b = Buffer.from(response);
  return a.length === b.length && timingSafeEqual(a, b);
}
