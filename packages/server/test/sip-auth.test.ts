// Digest verification of INVITEs we receive (auth.ts): nonce freshness, one use per nonce-count (replays rejected,
// qop=auth needs an increasing nc), the digest-uri bound to the Request-URI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { SipMessage } from 'sip';
import { NonceIssuer, findAuthorization, verifyDigest } from '../src/sip/auth.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const RURI = 'sip:+15550001111@198.51.100.7:5060';
let n = 0;

/** An INVITE (a new transaction each time unless `same` is given) carrying a digest computed for `o`. */
function invite(nonce: string, o: { uri?: string; nc?: string | null; password?: string; same?: SipMessage } = {}): SipMessage {
  const uri = o.uri ?? RURI;
  const nc = o.nc === undefined ? '00000001' : o.nc;
  const ha1 = md5(`trunkuser:astral.test:${o.password ?? 'pw'}`);
  const ha2 = md5(`INVITE:${uri}`);
  const response = nc === null ? md5(`${ha1}:${nonce}:${ha2}`) : md5(`${ha1}:${nonce}:${nc}:c0ffee:auth:${ha2}`);
  const auth = { scheme: 'Digest', username: '"trunkuser"', realm: '"astral.test"', nonce: `"${nonce}"`, uri: `"${uri}"`, response: `"${response}"`, algorithm: 'MD5', ...(nc === null ? {} : { qop: 'auth', nc, cnonce: '"c0ffee"' }) };
  const base = o.same ?? {
    method: 'INVITE',
    uri: RURI,
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '198.51.100.9', port: 5060, params: { branch: `z9hG4bK-${++n}` } }],
      to: { uri: RURI, params: {} },
      from: { uri: 'sip:carrier@198.51.100.9', params: { tag: `f${n}` } },
      'call-id': `call-${n}`,
      cseq: { seq: 2, method: 'INVITE' },
    },
    content: '',
  };
  return { ...base, headers: { ...base.headers, authorization: [auth] } };
}

const check = (m: SipMessage, nonces: NonceIssuer, password = 'pw') => verifyDigest(m, findAuthorization(m)!, password, nonces);

test('a right digest verifies; the same INVITE may be checked again (several trunks’ passwords); a wrong one does not burn the nc', () => {
  const nonces = new NonceIssuer();
  const nonce = nonces.issue();
  const m = invite(nonce);
  assert.equal(check(m, nonces, 'other-trunk-pw'), false);
  assert.equal(check(m, nonces), true);
  assert.equal(check(m, nonces), true);
});

test('replay: the same nonce and nc in another INVITE → false; a higher nc → true; a lower one after it → false', () => {
  const nonces = new NonceIssuer();
  const nonce = nonces.issue();
  assert.equal(check(invite(nonce), nonces), true);
  assert.equal(check(invite(nonce), nonces), false, 'replayed nc 00000001');
  assert.equal(check(invite(nonce, { nc: '00000002' }), nonces), true);
  assert.equal(check(invite(nonce, { nc: '00000001' }), nonces), false, 'nc went back');
  assert.equal(check(invite(nonce, { nc: '00000002' }), nonces), false, 'nc repeated');
  assert.equal(check(invite(nonce, { nc: '0000000a' }), nonces), true);
  assert.equal(check(invite(nonce, { nc: 'zz' }), nonces), false, 'nc is 8 hex digits');
});

test('without qop (no nc) a nonce is good for one INVITE', () => {
  const nonces = new NonceIssuer();
  const nonce = nonces.issue();
  const first = invite(nonce, { nc: null });
  assert.equal(check(first, nonces), true);
  assert.equal(check(first, nonces), true);
  assert.equal(check(invite(nonce, { nc: null }), nonces), false);
});

test('digest-uri must name the Request-URI: another user, host or port → false; the same URI without its user → true', () => {
  const nonces = new NonceIssuer();
  assert.equal(check(invite(nonces.issue(), { uri: 'sip:+15559999999@198.51.100.7:5060' }), nonces), false);
  assert.equal(check(invite(nonces.issue(), { uri: 'sip:+15550001111@203.0.113.1:5060' }), nonces), false);
  assert.equal(check(invite(nonces.issue(), { uri: 'sip:+15550001111@198.51.100.7:5070' }), nonces), false);
  assert.equal(check(invite(nonces.issue(), { uri: 'sips:+15550001111@198.51.100.7:5060' }), nonces), false);
  assert.equal(check(invite(nonces.issue(), { uri: 'sip:198.51.100.7:5060' }), nonces), true, 'SIPp sends sip:host:port');
  assert.equal(check(invite(nonces.issue(), { uri: 'sip:+15550001111@198.51.100.7' }), nonces), true, '5060 is the default port');
  // The response computed over the Request-URI but the header naming another: still the uri check that fails.
  const m = invite(nonces.issue());
  const auth = findAuthorization(m)!;
  assert.equal(verifyDigest({ ...m, uri: 'sip:+15559999999@198.51.100.7:5060' }, auth, 'pw', nonces), false);
});

test('nonces: forged or expired ones → false', async () => {
  const nonces = new NonceIssuer(20);
  assert.equal(check(invite(`${Date.now().toString(36)}.AAAAAAAA.forgedforgedforgedforg`), nonces), false);
  assert.equal(check(invite(new NonceIssuer().issue()), nonces), false, 'another issuer’s nonce');
  const nonce = nonces.issue();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(check(invite(nonce), nonces), false);
});
