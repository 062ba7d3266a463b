// The operator dashboard in production: an API key entered once at /dashboard/login, kept server-side behind a signed,
// HttpOnly, SameSite=Strict session cookie; /dashboard/api/v1/calls* forwards with that key; logout, revocation, CSRF header.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, createKey, startTestServer, type TestServer } from './helpers.js';

const SECRET = 'dashboard-session-test-secret-0123456789abcdef';
const CSRF = { 'x-astral-dashboard': '1' };

interface Answer {
  status: number;
  text: string;
  setCookie: string[];
  headers: Headers;
}

async function send(t: TestServer, method: string, path: string, { cookie, body, headers = {} }: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(t.url + path, {
    method,
    headers: { ...(cookie ? { cookie } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), setCookie: res.headers.getSetCookie(), headers: res.headers };
}

/** Logs in with `key`; the `name=value` to send back as Cookie, and the raw Set-Cookie. */
async function login(t: TestServer, key: string): Promise<{ cookie: string; setCookie: string; res: Answer }> {
  const res = await send(t, 'POST', '/dashboard/login', { body: { api_key: key }, headers: CSRF });
  assert.equal(res.status, 204, res.text);
  const setCookie = res.setCookie.find((c) => c.startsWith('astral_dashboard='))!;
  assert.ok(setCookie, 'a session cookie is set');
  return { cookie: setCookie.split(';')[0]!, setCookie, res };
}

describe('dashboard session in production', () => {
  let t: TestServer;
  let readKey: string;
  before(async () => {
    t = await startTestServer({ NODE_ENV: 'production', ASTRAL_SECRET_KEY: SECRET });
    readKey = await createKey(t, 'dashboard-reader', ['calls.read']);
  });
  after(() => t.close());

  test('the demo is off but the dashboard page is served; the session says nobody is logged in', async () => {
    assert.equal((await send(t, 'GET', '/demo/api/v1/calls/live')).status, 404);
    assert.equal((await send(t, 'GET', '/index.html')).status, 404, 'the two-phone demo page is not served');
    const page = await send(t, 'GET', '/dashboard.html');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="login-form"/);
    assert.equal((await send(t, 'GET', '/dashboard.js')).status, 200);
    const session = await send(t, 'GET', '/dashboard/session');
    assert.deepEqual(JSON.parse(session.text), { authenticated: false, demo: false });
  });

  test('without a session the proxy answers 401', async () => {
    const res = await send(t, 'GET', '/dashboard/api/v1/calls/live');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).code, 'unauthorized');
  });

  test('a good key logs in: a signed HttpOnly SameSite=Strict cookie, and the proxy works with it', async () => {
    const { cookie, setCookie, res } = await login(t, ADMIN_KEY);
    assert.match(setCookie, /; HttpOnly/i);
    assert.match(setCookie, /; SameSite=Strict/i);
    assert.match(setCookie, /; Path=\/dashboard/i);
    assert.match(setCookie, /; Max-Age=43200/i);
    assert.doesNotMatch(setCookie, /; Secure/i, 'plain http: not Secure');
    const value = decodeURIComponent(cookie.slice('astral_dashboard='.length));
    assert.match(value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9+/_-]+$/, 'an id and its signature');
    assert.equal(res.text, '');
    const live = await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie });
    assert.equal(live.status, 200, live.text);
    assert.ok(Array.isArray(JSON.parse(live.text)));
    const history = await send(t, 'GET', '/dashboard/api/v1/calls?limit=5', { cookie });
    assert.equal(history.status, 200, history.text);
    const session = JSON.parse((await send(t, 'GET', '/dashboard/session', { cookie })).text);
    assert.equal(session.authenticated, true);
    assert.ok(Date.parse(session.expires_at) > Date.now() + 11 * 3600_000);
  });

  test('behind a trusted https proxy the cookie is Secure', async () => {
    const proxied = await startTestServer({ NODE_ENV: 'production', ASTRAL_SECRET_KEY: SECRET, ASTRAL_TRUST_PROXY: 'true' });
    try {
      const res = await send(proxied, 'POST', '/dashboard/login', { body: { api_key: ADMIN_KEY }, headers: { ...CSRF, 'x-forwarded-proto': 'https' } });
      assert.equal(res.status, 204);
      assert.match(res.setCookie.join('\n'), /; Secure/i);
    } finally {
      await proxied.close();
    }
  });

  test('a tampered or unsigned cookie is a 401', async () => {
    const { cookie } = await login(t, ADMIN_KEY);
    const [id, signature] = decodeURIComponent(cookie.slice('astral_dashboard='.length)).split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [`${flip(id)}.${signature}`, `${id}.${flip(signature)}`, id, `${id}.`]) {
      const res = await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie: `astral_dashboard=${encodeURIComponent(forged)}` });
      assert.equal(res.status, 401, forged);
    }
  });

  test('a wrong key is a 401; a key without calls.read a 403; neither sets a cookie', async () => {
    const wrong = await send(t, 'POST', '/dashboard/login', { body: { api_key: 'ak_not_a_real_key_000000000000' }, headers: CSRF });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.setCookie, []);
    assert.doesNotMatch(wrong.text, /ak_not_a_real_key/);
    const botsOnly = await createKey(t, 'tokens-only', ['tokens.create']);
    const res = await send(t, 'POST', '/dashboard/login', { body: { api_key: botsOnly }, headers: CSRF });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.setCookie, []);
  });

  test('the key’s own permissions apply through the proxy', async () => {
    const { cookie } = await login(t, readKey);
    assert.equal((await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie })).status, 200);
    const hang = await send(t, 'POST', '/dashboard/api/v1/calls/hangup-channel', { cookie, body: { channel_id: 'WebRTC/x-00000001' }, headers: CSRF });
    assert.equal(hang.status, 403, 'calls.control is not this key’s');
  });

  test('a state-changing request without the X-Astral-Dashboard header is a 403', async () => {
    const { cookie } = await login(t, ADMIN_KEY);
    const bare = await send(t, 'POST', '/dashboard/api/v1/calls/hangup-channel', { cookie, body: { channel_id: 'WebRTC/x-00000001' } });
    assert.equal(bare.status, 403);
    assert.match(JSON.parse(bare.text).message, /x-astral-dashboard/);
    const withHeader = await send(t, 'POST', '/dashboard/api/v1/calls/hangup-channel', { cookie, body: { channel_id: 'WebRTC/x-00000001' }, headers: CSRF });
    assert.equal(withHeader.status, 404, 'forwarded: no such channel');
    assert.equal((await send(t, 'POST', '/dashboard/login', { body: { api_key: ADMIN_KEY } })).status, 403, 'login too');
    assert.equal((await send(t, 'POST', '/dashboard/logout', { cookie })).status, 403, 'logout too');
  });

  test('paths that leave /api/v1/calls are refused by the session proxy too', async () => {
    const { cookie } = await login(t, ADMIN_KEY);
    for (const path of ['/dashboard/api/v1/calls/%2e%2e/%2e%2e/v1/tokens', '/dashboard/api/v1/callsx']) {
      const res = await send(t, 'GET', path, { cookie });
      assert.equal(res.status, 404, path);
    }
  });

  test('logout ends the session and clears the cookie', async () => {
    const { cookie } = await login(t, ADMIN_KEY);
    const out = await send(t, 'POST', '/dashboard/logout', { cookie, headers: CSRF });
    assert.equal(out.status, 204);
    assert.match(out.setCookie.join('\n'), /astral_dashboard=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
    assert.equal((await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie })).status, 401, 'the old cookie no longer works');
  });

  test('a revoked key’s session stops working', async () => {
    const key = await createKey(t, 'soon-revoked', ['calls.read']);
    const { cookie } = await login(t, key);
    assert.equal((await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie })).status, 200);
    await t.server.store.apiKeys.revoke(t.server.instanceId, 'soon-revoked');
    assert.equal((await send(t, 'GET', '/dashboard/api/v1/calls/live', { cookie })).status, 401);
    assert.equal(JSON.parse((await send(t, 'GET', '/dashboard/session', { cookie })).text).authenticated, false);
  });

  test('the API key never appears in a response or a Set-Cookie', async () => {
    const key = await createKey(t, 'never-echoed', ['calls.read', 'calls.control']);
    const answers: Answer[] = [];
    const first = await login(t, key);
    answers.push(first.res);
    const { cookie } = first;
    for (const path of ['/dashboard/session', '/dashboard/api/v1/calls/live', '/dashboard/api/v1/calls', '/dashboard/api/v1/calls/count']) answers.push(await send(t, 'GET', path, { cookie }));
    answers.push(await send(t, 'POST', '/dashboard/api/v1/calls/hangup-channel', { cookie, body: { channel_id: 'WebRTC/x-00000001' }, headers: CSRF }));
    answers.push(await send(t, 'POST', '/dashboard/logout', { cookie, headers: CSRF }));
    const secretPart = key.slice(10);
    for (const a of answers) {
      assert.ok(!a.text.includes(secretPart), 'no body carries the key');
      for (const c of a.setCookie) assert.ok(!c.includes(secretPart), c);
      for (const [, value] of a.headers) assert.ok(!value.includes(secretPart));
    }
  });
});

describe('dashboard session in development', () => {
  let t: TestServer;
  before(async () => (t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET })));
  after(() => t.close());

  test('the page may use the demo proxy; the session proxy still needs a login', async () => {
    assert.deepEqual(JSON.parse((await send(t, 'GET', '/dashboard/session')).text), { authenticated: false, demo: true });
    assert.equal((await send(t, 'GET', '/demo/api/v1/calls/live')).status, 200);
    assert.equal((await send(t, 'GET', '/dashboard/api/v1/calls/live')).status, 401);
  });
});
