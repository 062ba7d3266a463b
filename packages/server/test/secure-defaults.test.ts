// Secure defaults: demo gating, the origin allowlist (CORS and socket.io), trustProxy, rate limits, token lifetime
// on live sockets (expiry, refresh, revoked bots) and the security headers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { io, type Socket } from 'socket.io-client';
import { WidgetTokens } from '../src/auth/widget-tokens.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_KEY, api, ackRequest, startTestServer, type TestServer } from './helpers.js';

const SECRET = 'secure-defaults-test-secret-0123456789abcdef';
const EVIL = 'https://evil.example';
const SHOP = 'https://shop.example';

/** A widget socket with `token` from `origin` (none: not a browser); resolves once connected or refused. */
function connect(t: TestServer, token: string, origin?: string): Promise<{ socket: Socket; error?: Error }> {
  const socket = io(t.url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(origin ? { extraHeaders: { origin } } : {}),
  });
  return new Promise((resolve) => {
    socket.once('session:ready', () => resolve({ socket }));
    socket.once('connect_error', (error) => resolve({ socket, error }));
  });
}

/** A token for an existing user that expires in `seconds` (the REST API's minimum is 60 s). */
async function shortToken(t: TestServer, identity: string, seconds: number): Promise<string> {
  const { body } = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity } });
  const userId = decodeJwt(body.token as string).sub!;
  const claims = { userId, instanceId: t.server.instanceId, identity, displayName: identity, extension: null };
  return (await new WidgetTokens(Buffer.from(SECRET)).mint(claims, seconds)).token;
}

const ended = (socket: Socket) =>
  new Promise<{ reason: string; disconnect: string }>((resolve) => {
    let reason = '';
    socket.once('session:expired', (p: { reason: string }) => (reason = p.reason));
    socket.once('disconnect', (disconnect) => resolve({ reason, disconnect }));
  });

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'astral-secure-config-'));
  test('the demo is on in development only', () => {
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir }).demo, true);
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_DEMO: '0' }).demo, false);
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir, NODE_ENV: 'production', ASTRAL_DEMO: '1' }).demo, false);
  });
  test('origins, trustProxy and rate limits', () => {
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir }).allowedOrigins, null);
    assert.deepEqual(loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_ALLOWED_ORIGINS: '*' }).allowedOrigins, ['*']);
    assert.throws(() => loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_ALLOWED_ORIGINS: 'https://shop.example/path' }), /not an origin/);
    const trust = (v: string) => loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_TRUST_PROXY: v }).trustProxy;
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir }).trustProxy, false);
    assert.equal(trust('true'), true);
    assert.equal(trust('2'), 2);
    assert.deepEqual(trust('127.0.0.1, 10.0.0.0/8'), ['127.0.0.1', '10.0.0.0/8']);
    assert.throws(() => trust('nginx'), /ASTRAL_TRUST_PROXY/);
    assert.deepEqual(loadConfig({ ASTRAL_DATA_DIR: dir }).rateLimits, { tokens: 1200, calls: 600, authFailures: 600 });
    assert.equal(loadConfig({ ASTRAL_DATA_DIR: dir, ASTRAL_RATE_LIMIT: '0' }).rateLimits, null);
  });
});

describe('development defaults', () => {
  let t: TestServer;
  before(async () => (t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET })));
  after(() => t.close());

  test('the demo answers a direct loopback client, never a proxied one', async () => {
    assert.equal((await api(t, 'POST', '/demo/token', { body: { identity: 'alice' } })).status, 200);
    assert.equal((await api(t, 'GET', '/demo/api/v1/calls/live')).status, 200);
    const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-forwarded-proto': 'https' }];
    for (const headers of proxied) {
      const token = await api(t, 'POST', '/demo/token', { body: { identity: 'alice' }, headers });
      assert.equal(token.status, 404, JSON.stringify(headers));
      assert.equal(token.body.code, 'not_found');
      assert.equal((await api(t, 'GET', '/demo/api/v1/calls/live', { headers })).status, 404, JSON.stringify(headers));
    }
  });

  test('CORS allows the server itself and localhost origins, not a foreign one', async () => {
    const allowOf = async (origin: string) =>
      (await fetch(`${t.url}/api/v1/tokens`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } })).headers.get('access-control-allow-origin');
    assert.equal(await allowOf('http://localhost:5173'), 'http://localhost:5173');
    assert.equal(await allowOf(t.url), t.url);
    assert.equal(await allowOf(EVIL), null);
    const res = await fetch(`${t.url}/healthz`, { headers: { origin: EVIL } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  test('the socket.io handshake refuses a foreign origin', async () => {
    const { body } = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'origin-test' } });
    const local = await connect(t, body.token as string, 'http://127.0.0.1:3999');
    assert.equal(local.error, undefined);
    local.socket.close();
    const foreign = await connect(t, body.token as string, EVIL);
    assert.ok(foreign.error, 'a foreign origin is refused');
    foreign.socket.close();
    const server = await connect(t, body.token as string);
    assert.equal(server.error, undefined, 'a client without an Origin (a backend, a bot) connects');
    server.socket.close();
  });

  test('served pages carry the security headers; the widget bundle stays loadable cross-origin', async () => {
    const page = await fetch(`${t.url}/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /upgrade-insecure-requests/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const widget = await fetch(`${t.url}/widget/astral-phone.js`, { headers: { origin: SHOP } });
    assert.equal(widget.headers.get('cross-origin-resource-policy'), 'cross-origin');
  });

  test('a socket whose token expires is closed, with the reason', async () => {
    const { socket, error } = await connect(t, await shortToken(t, 'expiring', 2));
    assert.equal(error, undefined);
    const started = Date.now();
    assert.deepEqual(await ended(socket), { reason: 'token_expired', disconnect: 'io server disconnect' });
    assert.ok(Date.now() - started < 4000);
  });

  test('a refreshed socket outlives its first token; a token for someone else is refused', async () => {
    const { socket } = await connect(t, await shortToken(t, 'refreshing', 2));
    const other = await ackRequest(socket, 'session:refresh', { token: await shortToken(t, 'someone-else', 60) });
    assert.equal(other.ok, false);
    assert.equal(other.error?.code, 'forbidden');
    const bad = await ackRequest(socket, 'session:refresh', { token: 'not-a-token' });
    assert.equal(bad.error?.code, 'unauthorized');
    const fresh = await ackRequest(socket, 'session:refresh', { token: await shortToken(t, 'refreshing', 60) });
    assert.equal(fresh.ok, true);
    assert.ok(new Date(fresh.data!.expiresAt!).getTime() > Date.now() + 50_000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(socket.connected, true, 'still connected after the first token expired');
    socket.close();
  });

  test('a revoked bot loses its sockets at once', async () => {
    const bot = await api(t, 'POST', '/api/v1/bots', { key: ADMIN_KEY, body: { name: 'revoked-bot' } });
    const { socket, error } = await connect(t, bot.body.token as string);
    assert.equal(error, undefined);
    const end = ended(socket);
    assert.equal((await api(t, 'DELETE', `/api/v1/bots/${bot.body.id as string}`, { key: ADMIN_KEY })).status, 204);
    assert.deepEqual(await end, { reason: 'revoked', disconnect: 'io server disconnect' });
    assert.ok((await connect(t, bot.body.token as string)).error, 'its token no longer connects');
  });
});

describe('production behind a proxy, with an allowlist and low limits', () => {
  let t: TestServer;
  before(
    async () =>
      (t = await startTestServer({
        NODE_ENV: 'production',
        ASTRAL_ALLOWED_ORIGINS: SHOP,
        ASTRAL_TRUST_PROXY: 'true',
        ASTRAL_RATE_LIMIT_TOKENS: '2',
        ASTRAL_RATE_LIMIT_CALLS: '1',
        ASTRAL_RATE_LIMIT_AUTH_FAILURES: '2',
      })),
  );
  after(() => t.close());
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  test('the demo is off', async () => {
    assert.equal((await api(t, 'POST', '/demo/token', { body: { identity: 'alice' } })).status, 404);
    assert.equal((await api(t, 'GET', '/demo/api/v1/calls/live')).status, 404);
  });

  test('only the allowlisted origin (and the server itself) pass CORS and the handshake', async () => {
    const allowOf = async (origin: string) => (await fetch(`${t.url}/healthz`, { headers: { origin } })).headers.get('access-control-allow-origin');
    assert.equal(await allowOf(SHOP), SHOP);
    assert.equal(await allowOf('http://localhost:5173'), null);
    const { body } = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'shopper' }, headers: from('198.51.100.1') });
    for (const [origin, ok] of [[SHOP, true], [t.url, true], ['http://localhost:5173', false]] as const) {
      const { socket, error } = await connect(t, body.token as string, origin);
      assert.equal(error === undefined, ok, origin);
      socket.close();
    }
  });

  test('token minting is limited per client address, with Retry-After and the /api error shape', async () => {
    const mint = (ip: string) => api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'limited' }, headers: from(ip) });
    assert.equal((await mint('198.51.100.2')).status, 201);
    assert.equal((await mint('198.51.100.2')).status, 201);
    const res = await fetch(`${t.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY, ...from('198.51.100.2') },
      body: JSON.stringify({ identity: 'limited' }),
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'rate_limited');
    assert.match(body.message, /retry/);
    assert.equal((await mint('198.51.100.3')).status, 201, 'another address (trustProxy: the forwarded one) has its own budget');
  });

  test('call creation is limited, in each family’s error shape', async () => {
    const clickToCall = () => api(t, 'POST', '/api/v1/calls/click-to-call', { key: ADMIN_KEY, body: {}, headers: from('198.51.100.4') });
    assert.notEqual((await clickToCall()).status, 429);
    const limited = await clickToCall();
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate_limited');
    const v1 = () => api(t, 'POST', '/v1/calls', { key: ADMIN_KEY, body: {}, headers: from('198.51.100.4') });
    assert.notEqual((await v1()).status, 429);
    const res = await v1();
    assert.equal(res.status, 429);
    assert.equal(typeof res.body.detail, 'string');
  });

  test('an address that keeps failing authentication is refused for a while, even with a good key', async () => {
    const bad = (headers: Record<string, string>) => api(t, 'GET', '/api/v1/calls/live', { key: 'ak_wrong_key_0123456789', headers });
    for (let i = 0; i < 3; i++) assert.equal((await bad(from('198.51.100.5'))).status, 401);
    const refused = await fetch(`${t.url}/api/v1/calls/live`, { headers: { 'x-api-key': ADMIN_KEY, ...from('198.51.100.5') } });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const v1 = await api(t, 'GET', '/v1/agents', { key: ADMIN_KEY, headers: from('198.51.100.5') });
    assert.equal(v1.status, 429);
    assert.equal(typeof v1.body.detail, 'string');
    assert.equal((await api(t, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY, headers: from('198.51.100.6') })).status, 200);
  });
});
