// REST contract of POST /api/v1/tokens, /healthz, the demo token endpoint and the error body shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { storedInClear } from './at-rest.js';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

describe('POST /api/v1/tokens', () => {
  test('mints a short-lived token for an identity and creates its user once', async () => {
    const res = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'alice', display_name: 'Alice', extension: '1001' } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['expires_at', 'identity', 'token', 'user_id']);
    assert.equal(res.body.identity, 'alice');
    assert.match(res.body.user_id as string, /^[0-9]{15,20}$/);
    const claims = decodeJwt(res.body.token as string);
    assert.equal(claims.sub, res.body.user_id);
    const ttl = (claims.exp as number) - Math.floor(Date.now() / 1000);
    assert.ok(ttl > 3500 && ttl <= 3600, `default ttl is one hour, got ${ttl}`);
    assert.equal(new Date(res.body.expires_at as string).getTime(), (claims.exp as number) * 1000);
    const again = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'alice' } });
    assert.equal(again.body.user_id, res.body.user_id, 'same identity, same user');
  });

  test('honours ttl_seconds within 60 s .. 24 h', async () => {
    const ok = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'short', ttl_seconds: 120 } });
    assert.equal(ok.status, 201);
    const ttl = (decodeJwt(ok.body.token as string).exp as number) - Math.floor(Date.now() / 1000);
    assert.ok(ttl > 100 && ttl <= 120);
    for (const ttl_seconds of [0, 59, 86401, 1.5, '600']) {
      const bad = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'x', ttl_seconds } });
      assert.equal(bad.status, 400, `ttl_seconds ${ttl_seconds}`);
      assert.equal(bad.body.code, 'bad_request');
      assert.match(bad.body.message as string, /ttl_seconds/);
    }
  });

  test('rejects malformed bodies with 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /identity/],
      [{ identity: '' }, /identity/],
      [{ identity: 'has space' }, /identity/],
      [{ identity: 'a'.repeat(129) }, /identity/],
      [{ identity: 'ok', extension: 'abc' }, /extension/],
      [{ identity: 'ok', surprise: 1 }, /surprise|additional/],
      ['[1,2]', /body/],
      ['{not json', /JSON/],
    ];
    for (const [body, field] of cases) {
      const res = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'bad_request');
      assert.match(res.body.message as string, field);
    }
  });

  test('401 without or with a wrong key, 403 without tokens.create', async () => {
    const missing = await api(t, 'POST', '/api/v1/tokens', { body: { identity: 'a' } });
    assert.deepEqual([missing.status, missing.body.code], [401, 'unauthorized']);
    const wrong = await api(t, 'POST', '/api/v1/tokens', { key: 'ak_nope_nope_nope_nope', body: { identity: 'a' } });
    assert.deepEqual([wrong.status, wrong.body.code], [401, 'unauthorized']);
    const readOnly = await createKey(t, 'reader', ['calls.read']);
    const forbidden = await api(t, 'POST', '/api/v1/tokens', { key: readOnly, body: { identity: 'a' } });
    assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden']);
    assert.match(forbidden.body.message as string, /tokens\.create/);
    const minter = await createKey(t, 'minter', ['tokens.create']);
    assert.equal((await api(t, 'POST', '/api/v1/tokens', { key: minter, body: { identity: 'a' } })).status, 201);
  });

  test('an extension belongs to one identity: 409 for another', async () => {
    assert.equal((await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'owner', extension: '2001' } })).status, 201);
    const clash = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'thief', extension: '2001' } });
    assert.deepEqual([clash.status, clash.body.code], [409, 'conflict']);
  });

  test('API keys are stored hashed, never in plain text', async () => {
    const key = await createKey(t, 'secret-check', ['calls.read']);
    for (const k of [key, ADMIN_KEY]) assert.equal(await storedInClear(t.dataDir, k), false);
  });
});

describe('health, errors and demo tokens', () => {
  test('GET /healthz is ok while the mediasoup workers live', async () => {
    const res = await api(t, 'GET', '/healthz');
    assert.deepEqual([res.status, res.body], [200, { status: 'ok' }]);
  });

  test('unknown routes answer 404 {code, message}', async () => {
    const res = await api(t, 'GET', '/api/v1/nothing');
    assert.deepEqual([res.status, res.body.code], [404, 'not_found']);
  });

  test('GET /api/v1/calls/:id validates the id and answers 404 for unknown calls', async () => {
    assert.equal((await api(t, 'GET', '/api/v1/calls/abc', { key: ADMIN_KEY })).status, 400);
    const missing = await api(t, 'GET', '/api/v1/calls/123', { key: ADMIN_KEY });
    assert.deepEqual([missing.status, missing.body.code], [404, 'not_found']);
    const minter = await createKey(t, 'no-read', ['tokens.create']);
    assert.equal((await api(t, 'GET', '/api/v1/calls/123', { key: minter })).status, 403);
  });

  test('the demo token endpoint serves alice and bob to this machine only', async () => {
    const res = await api(t, 'POST', '/demo/token', { body: { identity: 'bob' } });
    assert.equal(res.status, 200);
    assert.equal(decodeJwt(res.body.token as string).ext, '1002');
    assert.equal((await api(t, 'POST', '/demo/token', { body: { identity: 'mallory' } })).status, 400);
    const remote = await t.server.app.inject({
      method: 'POST',
      url: '/demo/token',
      payload: { identity: 'alice' },
      remoteAddress: '203.0.113.7',
    });
    assert.equal(remote.statusCode, 403);
  });

  test('CORS lets a customer site on another localhost origin call the API (by default; others are listed)', async () => {
    const res = await fetch(`${t.url}/api/v1/tokens`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:5173');
  });
});

describe('demo dashboard proxy', () => {
  test('forwards /demo/api/v1/calls* with an operator key the page never sees, to this machine only', async () => {
    const live = await fetch(`${t.url}/demo/api/v1/calls/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), []);
    const missing = await fetch(`${t.url}/demo/api/v1/calls/123/journey`);
    assert.equal(missing.status, 404);
    const hang = await fetch(`${t.url}/demo/api/v1/calls/hangup-channel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel_id: 'WebRTC/x-00000001' }),
    });
    assert.equal(hang.status, 404, 'POST bodies are forwarded (calls.control is granted)');
    assert.equal((await fetch(`${t.url}/demo/api/v1/tokens`, { method: 'POST' })).status, 404, 'only the calls family is proxied');
    const remote = await t.server.app.inject({ method: 'GET', url: '/demo/api/v1/calls/live', remoteAddress: '203.0.113.9' });
    assert.equal(remote.statusCode, 403);
  });
});
