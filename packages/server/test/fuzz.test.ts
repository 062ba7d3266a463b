// Fuzzing (issue 9): generated REST requests for every operation of /openapi.json, generated malformed socket.io
// payloads for every client event, and an auth matrix over every endpoint. Seeded (FUZZ_SEED overrides; failures
// print it) so a failing run replays exactly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClientPayloads } from '@astral/protocol';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { ADMIN_KEY, api, createKey, startTestServer, widgetSocket, type TestServer } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240909);
const REST_REQUESTS = 5200;
const SOCKET_PAYLOADS = 2100;

type Schema = Record<string, unknown> & { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema };
interface Parameter { in: 'path' | 'query' | 'header'; name: string; schema: Schema; required?: boolean }
interface Operation { security?: Record<string, string[]>[]; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }
type Doc = { paths: Record<string, Record<string, Operation>> };
interface Op { method: string; path: string; op: Operation }

let t: TestServer;
let doc: Doc;
let ops: Op[];
/** Instance A (the default one) and its fixtures; instance B with its own admin key; C is a throwaway instance. */
const A: Record<string, string> = {};
let bKey: string;
let bUserToken: string;
let cInstance: string;
let userToken: string;
let botToken: string;

before(async () => {
  // Thousands of requests come from one address without valid credentials: the 401 limit would block it and hide the
  // routes behind 429s (secure-defaults.test covers the limit itself).
  t = await startTestServer({ ASTRAL_RATE_LIMIT_AUTH_FAILURES: '1000000' });
  doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as Doc;
  ops = Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
  const ok = async (method: string, path: string, opts: Parameters<typeof api>[3]) => {
    const res = await api(t, method, path, opts);
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  A.instance = t.server.instanceId;
  const b = await ok('POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'fuzz-b' } });
  bKey = (await ok('POST', `/api/v1/instances/${String(b.id)}/keys`, { key: ADMIN_KEY, body: { name: 'b-admin', permissions: ['admin'] } })).key as string;
  bUserToken = (await ok('POST', '/api/v1/tokens', { key: bKey, body: { identity: 'b-user' } })).token as string;
  cInstance = (await ok('POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'fuzz-throwaway' } })).id as string;
  A.trunk = (await ok('POST', '/api/v1/trunks', { key: ADMIN_KEY, body: { name: 'a-trunk', host: 'sip.carrier.example' } })).id as string;
  await ok('POST', '/api/v1/numbers', { key: ADMIN_KEY, body: { number: '+15550001111', destination: '1001', destination_type: 'extension' } });
  A.number = '+15550001111';
  await ok('POST', '/api/v1/queues', { key: ADMIN_KEY, body: { number: '701', name: 'Sales', strategy: 'ring-all', members: ['1001'] } });
  A.queue = '701';
  const bot = await ok('POST', '/api/v1/bots', { key: ADMIN_KEY, body: { name: 'a-bot' } });
  A.bot = bot.id as string;
  botToken = bot.token as string;
  const user = await ok('POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'a-user' } });
  userToken = user.token as string;
  const channel = await ok('POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [A.bot, user.user_id] } });
  A.channel = channel.id as string;
  A.user = user.user_id as string;
  A.webhook = (await ok('POST', `/v1/instances/${A.instance}/webhooks`, { key: ADMIN_KEY, body: { url: 'https://hooks.example/a', events: ['*'] } })).id as string;
  await ok('POST', `/v1/instances/${A.instance}/agents`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: { key: 'a-agent', name: 'A agent', provider: 'local' } });
  A.agent = 'a-agent';
});
after(() => t.close());

// ---------------------------------------------------------------------------------------------------------------
// Valid-ish values from a schema (the auth matrix needs bodies that pass validation so that auth decides).

/** A path parameter's value pointing at instance A's object of that kind. */
function aObject(path: string, name: string): string {
  if (name === 'instance_id') return A.instance!;
  if (name === 'channel_id') return A.channel!;
  if (name === 'key') return A.agent!;
  if (name === 'number') return path.includes('numbers') ? A.number! : A.queue!;
  if (name === 'id' && path.startsWith('/api/v1/instances')) return A.instance!;
  if (name === 'id' && path.includes('trunks')) return A.trunk!;
  if (name === 'id' && path.includes('bots')) return A.bot!;
  if (name === 'id' && path.includes('webhooks')) return A.webhook!;
  if (name === 'call_id') return '00000000-0000-4000-8000-000000000000';
  return '1';
}

function sample(s: Schema | undefined): unknown {
  if (!s) return {};
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alt = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alt) return sample(alt.find((x) => x.type !== 'null') ?? alt[0]);
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sample(s.properties?.[k]);
      const each = Object.values((s.patternProperties ?? {}) as Record<string, Schema>)[0] ?? (typeof s.additionalProperties === 'object' ? (s.additionalProperties as Schema) : undefined);
      if (Number(s.minProperties ?? 0) > 0) out['1'] = each ? sample(each) : 'x';
      return out;
    }
    case 'array': return Array.from({ length: Number(s.minItems ?? 0) }, () => sample(s.items));
    case 'integer': case 'number': return Number(s.minimum ?? 1);
    case 'boolean': return true;
    case 'null': return null;
    case 'string': {
      if (s.format === 'uuid') return A.instance;
      if (s.format === 'uri' || s.format === 'url') return 'https://example.com/x';
      if (s.format === 'date-time') return '2024-01-01T00:00:00Z';
      if (typeof s.pattern === 'string' && s.pattern.includes('A-Za-z]+/')) return 'PJSIP/abc-0001';
      if (typeof s.pattern === 'string' && s.pattern.startsWith('^[a-z')) return 'abc';
      if (typeof s.pattern === 'string' && /0-9/.test(s.pattern)) return s.pattern.includes('+') ? '+15551234567' : '1001';
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    }
    default: return {};
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Auth matrix.

/** Endpoints without an API key / token dimension (still fuzzed above). */
const PUBLIC = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'POST /v1/webhooks/call-completed',
  // The dashboard's login takes a key in its body and sets a session cookie (dashboard-session.test.ts covers it).
  'POST /dashboard/login',
  'POST /dashboard/logout',
  'GET /dashboard/session',
]);

/** The permission each endpoint needs; an endpoint missing here fails the test (a new route must join the matrix). */
function permissionFor(method: string, path: string): string {
  if (path.startsWith('/api/v1/channels')) return 'channel-member';
  if (path === '/api/v1/tokens') return 'tokens.create';
  if (/\/recording$/.test(path)) return 'calls.recording';
  if (path === '/api/v1/calls/click-to-call') return 'calls.click_to_call';
  if (/^\/api\/v1\/calls\/(hangup-channel|transfer)/.test(path)) return 'calls.control';
  if (path.startsWith('/api/v1/calls')) return 'calls.read';
  if (/^\/api\/v1\/(queues|ivr|trunks|numbers|bots|instances)/.test(path)) return 'admin';
  if (path === '/v1/calls' || path === '/v1/calls/{call_id}' || path === '/v1/agents') return 'agents.call';
  if (method === 'GET' && /^\/v1\/instances\/\{instance_id\}\/channels\/voice(\/calls)?$/.test(path)) return 'agents.call';
  if (method === 'GET' && /^\/v1\/instances\/\{instance_id\}\/agents/.test(path)) return 'agents.call';
  if (path.startsWith('/v1/instances/{instance_id}/')) return 'admin';
  throw new Error(`no permission known for ${method} ${path}`);
}

/** A JSON body that no endpoint's schema accepts (every request body is an object). */
const INVALID_BODY = JSON.stringify([{ not: 'valid' }]);

test('auth matrix: every endpoint × {no credentials, wrong credentials, missing permission, another instance} (with a valid and an invalid body) → 401 / 403 / 404', async () => {
  const otherThan = (p: string) => (p === 'calls.read' ? 'tokens.create' : 'calls.read');
  const limitedKeys = new Map<string, string>();
  for (const p of ['calls.read', 'tokens.create']) limitedKeys.set(p, await createKey(t, `matrix-${p}`, [p]));
  // A user of A who is not a member of A's channel, and a user of B.
  const outsider = (await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'outsider' } })).body.token as string;
  const aSecrets = [A.trunk!, A.bot!, A.webhook!, A.agent!, A.number!, 'a-trunk', 'a-bot', 'hooks.example'];
  const failures: string[] = [];
  let cells = 0;
  for (const { method, path, op } of ops) {
    const name = `${method} ${path}`;
    if (PUBLIC.has(name)) continue;
    const needs = permissionFor(method, path);
    const url = path.replace(/\{([^}]+)\}/g, (_, p: string) => encodeURIComponent(aObject(path, p)));
    const valid = name === 'POST /api/v1/channels' ? { recipients: [A.bot, A.user] } : sample(op.requestBody?.content['application/json']?.schema);
    const body = op.requestBody ? JSON.stringify(valid) : undefined;
    const usesApiKeyHeader = op.security?.some((s) => 'ApiKey' in s);
    const keyHeader = (key: string): Record<string, string> => (path.startsWith('/v1/') ? { authorization: `Bearer ${key}` } : { 'x-api-key': key });
    const cases: { who: string; headers: Record<string, string>; expect: number[]; invalidBody?: boolean }[] = [
      { who: 'no credentials', headers: {}, expect: [401] },
      { who: 'wrong credentials', headers: needs === 'channel-member' ? { authorization: 'Bearer wt_not_a_real_token' } : keyHeader('ak_wrong_0123456789abcdefghij'), expect: [401] },
    ];
    if (needs === 'channel-member') {
      cases.push({ who: 'wrong bot token', headers: { authorization: 'Bot bt_not_a_real_token' }, expect: [401] });
      if (path !== '/api/v1/channels') {
        cases.push({ who: 'a user of A outside the channel', headers: { authorization: `Bearer ${outsider}` }, expect: [403, 404] });
        cases.push({ who: "another instance's user", headers: { authorization: `Bearer ${bUserToken}` }, expect: [403, 404] });
      } else {
        cases.push({ who: 'a key without channels.manage', headers: { 'x-api-key': limitedKeys.get('calls.read')! }, expect: [403] });
        cases.push({ who: "another instance's user naming A's members", headers: { authorization: `Bearer ${bUserToken}` }, expect: [400, 403, 404] });
      }
    } else {
      assert.ok(usesApiKeyHeader, `${name} documents an ApiKey scheme`);
      const limited = limitedKeys.get(otherThan(needs))!;
      cases.push({ who: `a key without ${needs}`, headers: keyHeader(limited), expect: [403] });
      const hasAObject = /\{/.test(path);
      // Another instance's admin key: A's objects are 404 (never revealed); creating an instance needs the platform (403).
      const other = name === 'POST /api/v1/instances' ? [403] : hasAObject ? [404] : [];
      cases.push({ who: "another instance's admin key", headers: keyHeader(bKey), expect: other });
    }
    // Credentials are checked before the input: the same answers with a body no schema accepts (never a 400 first).
    if (body !== undefined) {
      for (const c of [...cases]) if (c.expect.every((code) => code === 401 || code === 403)) cases.push({ ...c, who: `${c.who}, invalid body`, invalidBody: true });
    }
    for (const c of cases) {
      cells++;
      const headers = { ...c.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
      const res = await send({ method, url, headers, body: c.invalidBody ? INVALID_BODY : body });
      const leaks = res.status < 300 ? aSecrets.filter((s) => res.text.includes(s)) : [];
      const bad = res.status >= 500 || (c.expect.length ? !c.expect.includes(res.status) : res.status >= 500) || leaks.length > 0;
      if (bad) failures.push(`${name} [${c.who}] → ${res.status} (expected ${c.expect.join('/') || 'no A data'}${leaks.length ? `; leaked ${leaks.join(', ')}` : ''}) ${res.text.slice(0, 200)}`);
    }
  }
  console.log(`auth matrix: ${cells} cells`);
  assert.deepEqual(failures, []);
  // Nothing in A was changed by another instance's key.
  assert.equal((await api(t, 'GET', `/api/v1/trunks/${A.trunk!}`, { key: ADMIN_KEY })).status, 200);
  assert.equal((await api(t, 'GET', `/v1/instances/${A.instance!}/webhooks/${A.webhook!}`, { key: ADMIN_KEY })).status, 200);
  assert.equal((await api(t, 'GET', `/api/v1/instances/${cInstance}`, { key: ADMIN_KEY })).status < 500, true);
});

// ---------------------------------------------------------------------------------------------------------------
// 1. REST fuzzing.

const nasty = ['%00', '%00abc', '%ZZ', '%', '..%2F..%2Fetc', '%0d%0aX-Injected:%201', '-1', '0', '1e309', 'NaN', 'null', 'true', '[]', '{}', ' ', '%20', '9'.repeat(40), '18446744073709551616', '%E2%80%AE', '%F0%9F%98%80', '%C0%AF', "'%3B--", '%3Cscript%3E'];
const enc = (s: string) => encodeURIComponent(s);
const junkString = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.integer().map(String), fc.double().map(String));
const hugeString = fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'A'.repeat(n));

function pathValue(method: string, path: string, p: Parameter): fc.Arbitrary<string> {
  const valid = path.startsWith('/api/v1/instances') && p.name === 'id'
    ? fc.constantFrom(cInstance, method === 'DELETE' ? cInstance : A.instance!, '00000000-0000-4000-8000-000000000000')
    : fc.constant(aObject(path, p.name));
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(enc) },
    { weight: 2, arbitrary: fc.constantFrom(...nasty) },
    { weight: 2, arbitrary: junkString.map(enc) },
    { weight: 1, arbitrary: fc.uuid().map(String) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String) },
    { weight: 1, arbitrary: hugeString.map((s) => s.slice(0, 5000)) },
  );
}

function queryArb(op: Operation): fc.Arbitrary<string> {
  const declared = (op.parameters ?? []).filter((p) => p.in === 'query');
  const value = (p: Parameter) => fc.oneof(
    fc.constant(enc(String(sample(p.schema)))),
    fc.constantFrom(...nasty, '-5', '99999999999999999999', '1.5', 'abc', '2024-13-45', ''),
    junkString.map(enc),
    hugeString.map((s) => s.slice(0, 20_000)),
  );
  const pair = (name: string, v: fc.Arbitrary<string>) => v.map((x) => `${name}=${x}`);
  const pairs = [
    ...declared.map((p) => fc.option(fc.array(pair(p.name, value(p)), { minLength: 1, maxLength: 2 }), { nil: [] as string[] })),
    fc.array(fc.tuple(junkString, junkString).map(([k, v]) => `${enc(k)}=${enc(v)}`), { maxLength: 2 }),
    fc.option(fc.constantFrom('a[b]=1', 'limit[]=1', '__proto__[x]=1', 'constructor[prototype][x]=1', '&&&', '=%00', 'x'), { nil: undefined }).map((x) => (x ? [x] : [])),
  ];
  return fc.tuple(...pairs).map((parts) => parts.flat().join('&'));
}

interface Body { body?: string; contentType?: string }
function bodyArb(op: Operation): fc.Arbitrary<Body> {
  const schema = op.requestBody?.content['application/json']?.schema;
  const valid = sample(schema);
  const json = (v: unknown): Body => ({ body: JSON.stringify(v), contentType: 'application/json' });
  const mutated = fc.tuple(fc.constantFrom('drop', 'extra', 'retype', 'proto'), fc.anything({ maxDepth: 3 }), fc.nat()).map(([how, junk, n]) => {
    const obj = typeof valid === 'object' && valid && !Array.isArray(valid) ? { ...(valid as Record<string, unknown>) } : {};
    const keys = Object.keys(obj);
    const k = keys.length ? keys[n % keys.length]! : 'x';
    if (how === 'drop') delete obj[k];
    if (how === 'extra') obj[`extra_${n}`] = junk;
    if (how === 'retype') obj[k] = junk;
    if (how === 'proto') return { body: `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}${keys.length ? ',' + JSON.stringify(obj).slice(1) : '}'}`, contentType: 'application/json' };
    return json(obj);
  });
  const deep = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([d, open]): Body => ({
    body: open.repeat(d) + '1' + (open === '[' ? ']' : '}').repeat(d),
    contentType: 'application/json',
  }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(json(valid)) },
    { weight: 5, arbitrary: mutated },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: false }).map((v) => json(v ?? null)) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: hugeString.map((s) => json({ ...(valid as object), name: s, destination: s, url: s })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_100_000, max: 1_300_000 }).map((n) => ({ body: `{"x":"${'y'.repeat(n)}"}`, contentType: 'application/json' })) },
    { weight: 2, arbitrary: fc.oneof(junkString, fc.constantFrom('{', '{"a":', 'nul', '\u0000', '[1,]', '{"a":1}{"b":2}', '\ufeff{}', '')).map((s) => ({ body: s, contentType: 'application/json' })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx', 'garbage', ''), fc.constant(JSON.stringify(valid))).map(([contentType, body]) => ({ body, contentType })) },
    { weight: 1, arbitrary: fc.constant<Body>({}) },
  );
}

type Creds = Record<string, string>;
function credsArb(keys: { limited: string }): fc.Arbitrary<Creds> {
  const w = (weight: number, arbitrary: fc.Arbitrary<Creds>) => ({ weight, arbitrary });
  return fc.oneof(
    w(14, fc.constant({ 'x-api-key': ADMIN_KEY })),
    w(2, fc.constantFrom<Creds>({ authorization: `Bearer ${ADMIN_KEY}` }, { authorization: `Bearer ${userToken}` }, { authorization: `Bot ${botToken}` })),
    w(1, fc.constant({})),
    w(1, junkString.map((s) => ({ 'x-api-key': s.replace(/[^\x21-\x7e]/g, '') || 'x' }))),
    w(1, fc.constantFrom<Creds>({ 'x-api-key': keys.limited }, { 'x-api-key': bKey }, { authorization: 'Bearer' }, { authorization: `Bot ${'x'.repeat(5000)}` }, { authorization: 'Basic Zm9vOmJhcg==' })),
  );
}

interface Req { method: string; url: string; headers: Record<string, string>; body?: string }

async function send(r: Req): Promise<{ status: number; text: string }> {
  const res = await fetch(t.url + r.url, { method: r.method, headers: r.headers, body: r.body });
  return { status: res.status, text: await res.text() };
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

test(`REST fuzzing: ≥ ${REST_REQUESTS} generated requests over every operation never answer 5xx (seed ${SEED})`, async () => {
  const limited = await createKey(t, 'fuzz-limited', ['calls.read']);
  const creds = credsArb({ limited });
  const perOp = Math.ceil(REST_REQUESTS / ops.length);
  const requests: (Req & { op: string })[] = [];
  ops.forEach(({ method, path, op }, i) => {
    const params = (op.parameters ?? []).filter((p) => p.in === 'path');
    const arb = fc.record({
      path: fc.tuple(...params.map((p) => pathValue(method, path, p)), fc.constant('')).map((vals) => params.reduce((acc, p, j) => acc.replace(`{${p.name}}`, vals[j]!), path)),
      query: fc.option(queryArb(op), { freq: 3, nil: '' }),
      body: op.requestBody ? bodyArb(op) : fc.option(bodyArb({ requestBody: { content: { 'application/json': { schema: { type: 'object' } } } } }), { freq: 6, nil: {} as Body }),
      creds,
      trailing: fc.constantFrom('', '', '', '', '/', '//', '?'),
    });
    for (const g of fc.sample(arb, { seed: SEED + i, numRuns: perOp })) {
      const headers: Record<string, string> = { ...g.creds };
      if (g.body.contentType) headers['content-type'] = g.body.contentType;
      const canHaveBody = method !== 'GET' && method !== 'HEAD';
      requests.push({ op: `${method} ${path}`, method, url: g.path + g.trailing + (g.query ? `?${g.query}` : ''), headers, body: canHaveBody ? g.body.body : undefined });
    }
  });
  assert.ok(requests.length >= REST_REQUESTS);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  await pool(requests, 6, async (r) => {
    let res: { status: number; text: string };
    try {
      res = await send(r);
    } catch (err) {
      failures.push(`${r.op}: ${r.method} ${r.url.slice(0, 300)} → request failed: ${String(err)} (body ${String(r.body).slice(0, 200)})`);
      return;
    }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) {
      failures.push(`${r.op}: ${r.method} ${r.url.slice(0, 300)} headers ${JSON.stringify(r.headers).slice(0, 200)} body ${String(r.body).slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`);
    }
  });
  console.log(`REST fuzz: ${requests.length} requests over ${ops.length} operations, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  assert.deepEqual(failures, [], `seed ${SEED} (FUZZ_SEED=${SEED} replays): ${failures.length} failures`);

  // Healthy after: health, and a normal API flow (create, read, delete a trunk; issue a widget token; read history).
  assert.equal((await api(t, 'GET', '/healthz')).status, 200);
  const trunk = await api(t, 'POST', '/api/v1/trunks', { key: ADMIN_KEY, body: { name: 'after-fuzz', host: 'sip.after.example' } });
  assert.equal(trunk.status, 201, JSON.stringify(trunk.body));
  assert.equal((await api(t, 'GET', `/api/v1/trunks/${String(trunk.body.id)}`, { key: ADMIN_KEY })).status, 200);
  assert.equal((await api(t, 'DELETE', `/api/v1/trunks/${String(trunk.body.id)}`, { key: ADMIN_KEY })).status, 204);
  assert.equal((await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: 'after-fuzz' } })).status, 201);
  assert.equal((await api(t, 'GET', '/api/v1/calls', { key: ADMIN_KEY })).status, 200);
  assert.equal((await api(t, 'GET', `/api/v1/instances/${A.instance}`, { key: ADMIN_KEY })).status, 200, 'the default instance survived the fuzzing');
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Socket.io fuzzing.

type Ack = { ok: boolean; data?: unknown; error?: { code: unknown; message: unknown } };
const isAck = (a: unknown): a is Ack => {
  if (!a || typeof a !== 'object') return false;
  const ack = a as Ack;
  if (ack.ok === true) return true;
  return ack.ok === false && typeof ack.error?.code === 'string' && typeof ack.error.message === 'string';
};

function malformedPayload(event: string): fc.Arbitrary<unknown> {
  const schema = (ClientPayloads as unknown as Record<string, Schema>)[event]!;
  const valid = sample(JSON.parse(JSON.stringify(schema)) as Schema) as Record<string, unknown>;
  const keys = Object.keys(schema.properties ?? {});
  const field = keys.length ? fc.constantFrom(...keys) : fc.constant('x');
  return fc.oneof(
    fc.constantFrom(null, undefined, 0, -1, '', 'x', true, [], [valid], {}, NaN, Infinity),
    fc.anything({ maxDepth: 4 }),
    fc.tuple(field, fc.anything({ maxDepth: 3 })).map(([k, v]) => ({ ...valid, [k]: v })),
    field.map((k) => { const o = { ...valid }; delete o[k]; return o; }),
    fc.tuple(fc.string({ maxLength: 10 }), fc.anything({ maxDepth: 2 })).map(([k, v]) => ({ ...valid, [`extra${k}`]: v })),
    fc.tuple(field, fc.integer({ min: 1_000, max: 200_000 })).map(([k, n]) => ({ ...valid, [k]: 'z'.repeat(n) })),
    fc.integer({ min: 10, max: 400 }).map((d) => { let v: unknown = valid; for (let i = 0; i < d; i++) v = { [keys[0] ?? 'a']: v }; return v; }),
    fc.integer({ min: 10, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  );
}

const events = Object.keys(ClientPayloads);

test(`socket.io fuzzing: ≥ ${SOCKET_PAYLOADS} malformed payloads over every client event get error acks (seed ${SEED})`, async () => {
  const fuzzer = await widgetSocket(t, 'fuzz-socket');
  const bystander = await widgetSocket(t, 'fuzz-bystander');
  let bystanderDropped = false;
  bystander.on('disconnect', () => (bystanderDropped = true));
  const perEvent = Math.ceil(SOCKET_PAYLOADS / events.length);
  const failures: string[] = [];
  let sent = 0;
  let okAcks = 0;
  for (const [i, event] of events.entries()) {
    const payloads = fc.sample(malformedPayload(event), { seed: SEED + 1000 + i, numRuns: perEvent });
    await pool(payloads, 8, async (payload) => {
      sent++;
      try {
        const ack = (await fuzzer.timeout(5000).emitWithAck(event, payload)) as unknown;
        if (!isAck(ack)) failures.push(`${event} ${JSON.stringify(payload)?.slice(0, 200)} → bad ack ${JSON.stringify(ack)?.slice(0, 200)}`);
        else if (ack.ok) okAcks++;
      } catch (err) {
        failures.push(`${event} ${JSON.stringify(payload)?.slice(0, 200)} → no ack: ${String(err)}`);
      }
    });
  }
  console.log(`socket fuzz: ${sent} payloads over ${events.length} events, ${okAcks} valid ones acked ok, seed ${SEED}`);
  assert.ok(sent >= SOCKET_PAYLOADS);
  assert.deepEqual(failures.slice(0, 20), [], `seed ${SEED}: ${failures.length} failures`);
  assert.equal(fuzzer.connected, true, 'the fuzzing socket stays connected');
  assert.equal(bystanderDropped, false, 'another socket is never disconnected');
  const still = (await bystander.timeout(5000).emitWithAck('presence:update', { dnd: false })) as Ack;
  assert.deepEqual(still, { ok: true, data: {} });
  assert.equal((await api(t, 'GET', '/healthz')).status, 200);
  fuzzer.close();
  bystander.close();
});

test('socket.io: a request whose callback is not the second argument, or that has no payload, is answered bad_request', async () => {
  const s = await widgetSocket(t, 'fuzz-positions');
  const raw = s as unknown as { timeout(ms: number): { emitWithAck(...a: unknown[]): Promise<Ack> }; emit(...a: unknown[]): void };
  for (const event of events) {
    for (const args of [[{ callId: '1' }, 'extra'], [{}, {}, {}], [], [null, undefined, 1, 2]]) {
      const ack = await raw.timeout(5000).emitWithAck(event, ...args);
      assert.equal(ack.ok, false, `${event} with ${args.length} args: ${JSON.stringify(ack)}`);
      assert.equal(ack.error?.code, 'bad_request', `${event} with ${args.length} args: ${JSON.stringify(ack)}`);
    }
    // No callback at all: nothing to answer, and nothing breaks.
    raw.emit(event, { nonsense: true });
    raw.emit(event);
    raw.emit(event, 1, 2, 3);
  }
  const fine = (await s.timeout(5000).emitWithAck('presence:update', { dnd: true })) as Ack;
  assert.deepEqual(fine, { ok: true, data: {} });
  assert.equal(s.connected, true);
  s.close();
});

test('socket.io: a payload over the size limit drops only its own socket', async () => {
  const big = await widgetSocket(t, 'fuzz-big');
  const other = await widgetSocket(t, 'fuzz-big-other');
  const gone = new Promise((resolve) => big.once('disconnect', resolve));
  big.emit('call:dial', { destination: 'x'.repeat(1_200_000) }, () => undefined);
  await gone;
  assert.deepEqual(await other.timeout(5000).emitWithAck('presence:update', { dnd: false }), { ok: true, data: {} });
  const bad = io(t.url, { auth: { token: 'garbage' }, transports: ['websocket'], reconnection: false, forceNew: true });
  const err = await new Promise<Error & { data?: { code?: string } }>((resolve) => bad.once('connect_error', resolve));
  assert.equal(err.data?.code, 'unauthorized');
  bad.close();
  other.close();
});
