// SIP trunk and phone number admin API: validation, auth, instance scoping, default trunk, PATCH, sealed passwords.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { errorMapper } from '../src/api/errors.js';
import { trunksApi } from '../src/api/trunks.js';
import { useStrictValidation } from '../src/api/validation.js';
import { ApiKeyService } from '../src/auth/api-keys.js';
import { SecretBox, SecretBoxError, SecretPurposes } from '../src/auth/secret-box.js';
import { ipAllowList, isHost, parseIpBlock } from '../src/util/net.js';
import { readDatabase, storedInClear } from './at-rest.js';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';

const SECRET_KEY = 'trunk-test-secret-key-0123456789abcdef';
const PASSWORD = 'Pa55-w0rd-never-shown-7f3a';

let t: TestServer;
before(async () => (t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET_KEY })));
after(() => t.close());

let seq = 0;
const uniqueName = () => `trunk-${++seq}`;
const createTrunk = (body: Record<string, unknown>, key = ADMIN_KEY) => api(t, 'POST', '/api/v1/trunks', { key, body: { name: uniqueName(), host: 'sip.carrier.example', ...body } });
const clearTrunks = async () => {
  for (const n of await t.server.store.numbers.list(t.server.instanceId)) await t.server.store.numbers.remove(t.server.instanceId, n.number);
  // Delete non-defaults first so the default never has to move.
  const trunks = await t.server.store.trunks.list(t.server.instanceId);
  for (const tr of [...trunks.filter((x) => !x.isDefault), ...trunks.filter((x) => x.isDefault)]) await t.server.store.trunks.remove(t.server.instanceId, tr.id);
};
const rawTrunkRow = (id: string) =>
  readDatabase(t.dataDir, async (db) => (await db.selectFrom('trunks').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as Record<string, unknown>);

describe('SecretBox and address helpers', () => {
  test('seal/open round-trips with a fresh IV; tampering, another key or another purpose fail', () => {
    const box = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword);
    const a = box.seal('hunter2 ünïcödé');
    const b = box.seal('hunter2 ünïcödé');
    assert.notEqual(a, b, 'random IV');
    assert.match(a, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.equal(box.open(a), 'hunter2 ünïcödé');
    assert.equal(box.open(box.seal('')), '');
    const parts = a.split('.');
    const flipped = Buffer.from(parts[2]!, 'base64url');
    flipped[0]! ^= 1;
    assert.throws(() => box.open([parts[0], parts[1], flipped.toString('base64url'), parts[3]].join('.')), SecretBoxError);
    assert.throws(() => new SecretBox(Buffer.from('another-secret-key-0123456789abcdef'), SecretPurposes.trunkPassword).open(a), SecretBoxError);
    assert.throws(() => new SecretBox(Buffer.from(SECRET_KEY), 'vendor-credentials/v1').open(a), SecretBoxError);
    assert.throws(() => box.open('plaintext'), SecretBoxError);
    assert.equal(JSON.stringify({ box }), '{"box":"[SecretBox]"}');
  });

  test('hosts, IP blocks and allow-list matching', () => {
    for (const h of ['sip.carrier.example', 'localhost', '10.0.0.1', '2001:db8::1', 'a-b.example.', 'x1.example']) assert.ok(isHost(h), h);
    for (const h of ['', 'bad_host', '-x.example', 'x..example', '10.0.0.256', '1.2.3', 'a b', 'http://x', '[::1]', 'a'.repeat(64) + '.example']) {
      assert.equal(isHost(h), false, h);
    }
    assert.deepEqual(parseIpBlock('1.2.3.0/24'), { address: '1.2.3.0', prefix: 24, family: 'ipv4' });
    assert.deepEqual(parseIpBlock('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseIpBlock('10.0.0.1'), { address: '10.0.0.1', prefix: 32, family: 'ipv4' });
    for (const bad of ['1.2.3.0/33', '::/129', '1.2.3.0/', '1.2.3.0/a', '1.2.3.0/-1', '1.2.3.0/24/1', '300.0.0.0/8', 'abc', '/24', '1.2.3.0/ 24', '01.2.3.4']) {
      assert.equal(parseIpBlock(bad), null, bad);
    }
    const allowed = ipAllowList(['1.2.3.0/24', '10.0.0.1', '2001:db8::/32']);
    for (const ok of ['1.2.3.4', '1.2.3.255', '10.0.0.1', '2001:db8::5', '::ffff:1.2.3.9']) assert.ok(allowed(ok), ok);
    for (const no of ['1.2.4.1', '10.0.0.2', '2001:db9::1', 'junk', '']) assert.equal(allowed(no), false, no);
  });
});

describe('POST /api/v1/trunks', () => {
  test('creates a trunk with defaults; the first trunk is the default; the password never comes back', async () => {
    await clearTrunks();
    const res = await createTrunk({ name: 'carrier', host: '10.0.0.1', username: 'acct', password: PASSWORD });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { id, ...rest } = res.body;
    assert.match(id as string, /^[0-9]{15,20}$/);
    assert.deepEqual(rest, {
      name: 'carrier',
      host: '10.0.0.1',
      port: 5060,
      transport: 'udp',
      username: 'acct',
      has_password: true,
      realm: null,
      register: false,
      caller_id: null,
      codecs: ['PCMU', 'PCMA'],
      allowed_ips: [],
      default: true,
      status: 'unknown',
    });
    assert.equal(JSON.stringify(res.body).includes(PASSWORD), false);
    const full = await createTrunk({
      host: '2001:db8::10',
      port: 5061,
      transport: 'tls',
      username: 'u@example',
      password: PASSWORD,
      realm: 'sip.example',
      caller_id: '+15551230000',
      register: true,
      codecs: ['PCMA'],
      allowed_ips: ['1.2.3.0/24', '10.0.0.1', '2001:db8::/32', '::1'],
    });
    assert.equal(full.status, 201, JSON.stringify(full.body));
    assert.deepEqual(
      [full.body.port, full.body.transport, full.body.realm, full.body.caller_id, full.body.register, full.body.codecs, full.body.allowed_ips, full.body.default],
      [5061, 'tls', 'sip.example', '+15551230000', true, ['PCMA'], ['1.2.3.0/24', '10.0.0.1', '2001:db8::/32', '::1'], false],
    );
    for (const listed of [await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY }), await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })]) {
      assert.equal(listed.status, 200);
      assert.equal(JSON.stringify(listed.body).includes(PASSWORD), false);
    }
    const list = (await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
    assert.deepEqual(list.map((x) => x.name), ['carrier', full.body.name]);
    assert.deepEqual((await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })).body, res.body);
  });

  test('rejects each bad field with 400 naming it', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: undefined }, /name/],
      [{ name: '' }, /name/],
      [{ name: 'has space' }, /name/],
      [{ name: 'slash/no' }, /name/],
      [{ name: 'a'.repeat(65) }, /name/],
      [{ host: undefined }, /host/],
      [{ host: '' }, /host/],
      [{ host: 'bad_host!' }, /host/],
      [{ host: '10.0.0.256' }, /host/],
      [{ host: 'a'.repeat(254) }, /host/],
      [{ host: 42 }, /host/],
      [{ port: 0 }, /port/],
      [{ port: 65536 }, /port/],
      [{ port: '5060' }, /port/],
      [{ port: 5060.5 }, /port/],
      [{ transport: 'sctp' }, /transport/],
      [{ username: '' }, /username/],
      [{ username: 'has space' }, /username/],
      [{ password: '' }, /password/],
      [{ password: 'x'.repeat(257) }, /password/],
      [{ password: 1234 }, /password/],
      [{ realm: 'a b' }, /realm/],
      [{ caller_id: 'anonymous' }, /caller_id/],
      [{ caller_id: '+1' }, /caller_id/],
      [{ register: 'yes' }, /register/],
      [{ register: true }, /register/],
      [{ register: true, username: 'only-user' }, /register/],
      [{ register: true, password: PASSWORD }, /register/],
      [{ codecs: [] }, /codecs/],
      [{ codecs: ['G729'] }, /codecs/],
      [{ codecs: ['PCMU', 'PCMU'] }, /codecs/],
      [{ codecs: 'PCMU' }, /codecs/],
      [{ allowed_ips: ['1.2.3.0/33'] }, /allowed_ips\.0/],
      [{ allowed_ips: ['10.0.0.1', '300.1.1.1'] }, /allowed_ips\.1/],
      [{ allowed_ips: ['1.2.3.0/'] }, /allowed_ips\.0/],
      [{ allowed_ips: ['::1/129'] }, /allowed_ips\.0/],
      [{ allowed_ips: ['sip.example'] }, /allowed_ips\.0/],
      [{ allowed_ips: '1.2.3.0/24' }, /allowed_ips/],
      [{ default: 'yes' }, /default/],
      [{ surprise: 1 }, /surprise|additional/],
    ];
    const before = (await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body;
    for (const [fields, field] of cases) {
      const res = await createTrunk({ password: undefined, ...fields });
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.code, 'bad_request');
      assert.match(res.body.message as string, field, `${JSON.stringify(fields)} → ${res.body.message}`);
      assert.equal((res.body.message as string).includes(PASSWORD), false);
    }
    const garbage = await api(t, 'POST', '/api/v1/trunks', { key: ADMIN_KEY, body: `{"name":"x","password":"${PASSWORD}"` });
    assert.equal(garbage.status, 400);
    assert.equal(JSON.stringify(garbage.body).includes(PASSWORD), false);
    assert.deepEqual((await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body, before, 'nothing was created');
  });

  test('names are unique per instance: 409', async () => {
    const name = uniqueName();
    assert.equal((await createTrunk({ name })).status, 201);
    const clash = await createTrunk({ name, host: '10.9.9.9' });
    assert.deepEqual([clash.status, clash.body.code], [409, 'conflict']);
    assert.match(clash.body.message as string, new RegExp(name));
  });
});

describe('auth and scoping', () => {
  test('every route: 401 without or with a wrong key, 403 naming admin for a non-admin key', async () => {
    const reader = await createKey(t, 'trunk-reader', ['calls.read']);
    const routes: [string, string, unknown?][] = [
      ['POST', '/api/v1/trunks', { name: 'x', host: 'h.example' }],
      ['GET', '/api/v1/trunks'],
      ['GET', '/api/v1/trunks/1'],
      ['PATCH', '/api/v1/trunks/1', { port: 5062 }],
      ['DELETE', '/api/v1/trunks/1'],
      ['POST', '/api/v1/numbers', { number: '+15550001111', destination: '1001', destination_type: 'extension' }],
      ['GET', '/api/v1/numbers'],
      ['DELETE', '/api/v1/numbers/15550001111'],
    ];
    for (const [method, path, body] of routes) {
      const missing = await api(t, method, path, { body });
      assert.deepEqual([missing.status, missing.body.code], [401, 'unauthorized'], `${method} ${path}`);
      const wrong = await api(t, method, path, { key: 'ak_nope_nope_nope_nope', body });
      assert.deepEqual([wrong.status, wrong.body.code], [401, 'unauthorized'], `${method} ${path}`);
      const forbidden = await api(t, method, path, { key: reader, body });
      assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden'], `${method} ${path}`);
      assert.match(forbidden.body.message as string, /"admin"/);
    }
  });

  test('unknown ids answer 404, malformed ids 400', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const body = method === 'PATCH' ? { port: 5070 } : undefined;
      const missing = await api(t, method, '/api/v1/trunks/123', { key: ADMIN_KEY, body });
      assert.deepEqual([missing.status, missing.body.code], [404, 'not_found'], method);
      assert.equal((await api(t, method, '/api/v1/trunks/abc', { key: ADMIN_KEY, body })).status, 400, method);
    }
  });

  test("another instance's key sees none of this instance's trunks or numbers (404)", async () => {
    const mine = await createTrunk({});
    assert.equal(mine.status, 201);
    assert.equal((await api(t, 'POST', '/api/v1/numbers', { key: ADMIN_KEY, body: { number: '+15559990000', destination: '1001', destination_type: 'extension' } })).status, 201);
    const other = randomUUID();
    await t.server.store.db.insertInto('instances').values({ id: other, name: 'other', created_at: new Date().toISOString() }).execute();
    const { key } = await new ApiKeyService(t.server.store.apiKeys).create(other, 'other-admin', ['admin']);
    const id = mine.body.id as string;
    assert.deepEqual((await api(t, 'GET', '/api/v1/trunks', { key })).body, []);
    assert.deepEqual((await api(t, 'GET', '/api/v1/numbers', { key })).body, []);
    assert.equal((await api(t, 'GET', `/api/v1/trunks/${id}`, { key })).status, 404);
    assert.equal((await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key, body: { port: 5099 } })).status, 404);
    assert.equal((await api(t, 'DELETE', `/api/v1/trunks/${id}`, { key })).status, 404);
    assert.equal((await api(t, 'DELETE', '/api/v1/numbers/15559990000', { key })).status, 404);
    const viaForeignTrunk = await api(t, 'POST', '/api/v1/numbers', { key, body: { number: '+15559990001', destination: '1001', destination_type: 'extension', trunk_id: id } });
    assert.equal(viaForeignTrunk.status, 404);
    // Same name and number are free in the other instance; its first trunk is its own default.
    const theirs = await api(t, 'POST', '/api/v1/trunks', { key, body: { name: mine.body.name, host: 'other.example' } });
    assert.deepEqual([theirs.status, theirs.body.default], [201, true]);
    assert.equal((await api(t, 'POST', '/api/v1/numbers', { key, body: { number: '15559990000', destination: '2001', destination_type: 'extension' } })).status, 201);
    assert.equal((await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })).body.port, 5060, 'untouched');
    assert.equal((await t.server.store.numbers.lookup(t.server.instanceId, '15559990000'))?.destination, '1001');
    assert.equal((await t.server.store.numbers.lookup(other, '+15559990000'))?.destination, '2001');
    assert.ok((await t.server.store.trunks.listAll()).some((x) => x.instanceId === other));
  });
});

describe('default trunk', () => {
  test('the first trunk is the default; default: true moves it; it cannot be switched off; deleting it promotes the oldest', async () => {
    await clearTrunks();
    const a = await createTrunk({});
    const b = await createTrunk({});
    const c = await createTrunk({ default: true });
    const defaults = async () =>
      ((await api(t, 'GET', '/api/v1/trunks', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[]).filter((x) => x.default).map((x) => x.id);
    assert.deepEqual([a.body.default, b.body.default, c.body.default], [true, false, true]);
    assert.deepEqual(await defaults(), [c.body.id]);
    const moved = await api(t, 'PATCH', `/api/v1/trunks/${b.body.id}`, { key: ADMIN_KEY, body: { default: true } });
    assert.deepEqual([moved.status, moved.body.default], [200, true]);
    assert.deepEqual(await defaults(), [b.body.id]);
    assert.equal((await t.server.store.trunks.defaultOf(t.server.instanceId))?.id, b.body.id);
    const off = await api(t, 'PATCH', `/api/v1/trunks/${b.body.id}`, { key: ADMIN_KEY, body: { default: false } });
    assert.deepEqual([off.status, off.body.code], [409, 'conflict']);
    assert.match(off.body.message as string, /default/);
    assert.equal((await api(t, 'PATCH', `/api/v1/trunks/${a.body.id}`, { key: ADMIN_KEY, body: { default: false } })).status, 200, 'already not the default');
    assert.equal((await api(t, 'DELETE', `/api/v1/trunks/${b.body.id}`, { key: ADMIN_KEY })).status, 204);
    assert.deepEqual(await defaults(), [a.body.id], 'the oldest remaining trunk');
    await clearTrunks();
    assert.equal(await t.server.store.trunks.defaultOf(t.server.instanceId), undefined);
    assert.equal((await createTrunk({})).body.default, true);
  });
});

describe('PATCH /api/v1/trunks/:id', () => {
  test('omitted fields keep their value, null clears, the password is re-sealed; the rules hold on the result', async () => {
    const created = await createTrunk({ username: 'acct', password: PASSWORD, realm: 'r.example', caller_id: '15550000001', allowed_ips: ['10.0.0.0/8'] });
    const id = created.body.id as string;
    const before = (await rawTrunkRow(id)).password_sealed;
    const port = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { port: 5080, codecs: ['PCMA', 'PCMU'] } });
    assert.equal(port.status, 200);
    assert.deepEqual(port.body, { ...created.body, port: 5080, codecs: ['PCMA', 'PCMU'] });
    assert.equal((await rawTrunkRow(id)).password_sealed, before, 'password untouched when omitted');
    assert.equal((await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: {} })).status, 200);

    const reg = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { register: true, transport: 'tcp', name: `${created.body.name}-renamed` } });
    assert.deepEqual([reg.status, reg.body.register, reg.body.transport, reg.body.name], [200, true, 'tcp', `${created.body.name}-renamed`]);
    const noPass = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { password: null } });
    assert.deepEqual([noPass.status, noPass.body.code], [400, 'bad_request'], 'a registering trunk keeps its credentials');
    assert.match(noPass.body.message as string, /register/);
    const cleared = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { register: false, password: null, realm: null, caller_id: null, username: null } });
    assert.equal(cleared.status, 200);
    assert.deepEqual([cleared.body.has_password, cleared.body.username, cleared.body.realm, cleared.body.caller_id, cleared.body.register], [false, null, null, null, false]);
    assert.equal((await rawTrunkRow(id)).password_sealed, null);

    const newPass = `${PASSWORD}-2`;
    const set = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { password: newPass, username: 'acct2' } });
    assert.deepEqual([set.status, set.body.has_password], [200, true]);
    assert.equal(JSON.stringify(set.body).includes(newPass), false);
    assert.equal((await t.server.store.trunks.withSecret(id, new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword)))?.password, newPass);

    for (const [body, field] of [
      [{ host: 'not a host' }, /host/],
      [{ port: 0 }, /port/],
      [{ name: 'bad name' }, /name/],
      [{ allowed_ips: ['10.0.0.0/40'] }, /allowed_ips\.0/],
      [{ codecs: [] }, /codecs/],
      [{ password: '' }, /password/],
      [{ id: '1' }, /id|additional/],
    ] as [Record<string, unknown>, RegExp][]) {
      const res = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.message as string, field);
    }
    const other = await createTrunk({});
    const clash = await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { name: other.body.name } });
    assert.deepEqual([clash.status, clash.body.code], [409, 'conflict']);
    assert.equal((await api(t, 'PATCH', `/api/v1/trunks/${id}`, { key: ADMIN_KEY, body: { name: set.body.name } })).status, 200, 'its own name is no clash');
  });
});

describe('password at rest', () => {
  test('the stored column is sealed, not the plaintext, and opens with the SecretBox of the secret key', async () => {
    const res = await createTrunk({ username: 'acct', password: PASSWORD, register: true });
    const id = res.body.id as string;
    const row = await rawTrunkRow(id);
    const sealed = row.password_sealed as string;
    assert.equal(typeof sealed, 'string');
    assert.equal(sealed.includes(PASSWORD), false);
    assert.equal(Object.values(row).some((v) => typeof v === 'string' && v.includes(PASSWORD)), false);
    const box = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword);
    assert.equal(box.open(sealed), PASSWORD);
    assert.deepEqual(await t.server.store.trunks.credentials(id), { username: 'acct', passwordSealed: sealed, realm: null });
    const target = await t.server.store.trunks.withSecret(id, box);
    assert.deepEqual([target?.name, target?.host, target?.port, target?.transport, target?.username, target?.password], [res.body.name, 'sip.carrier.example', 5060, 'udp', 'acct', PASSWORD]);
    assert.equal((await t.server.store.trunks.get(t.server.instanceId, id)) && 'password' in (await t.server.store.trunks.get(t.server.instanceId, id))!, false);
    // Nowhere in the database as stored (SQLite: its files, write-ahead log included; PostgreSQL: any row).
    assert.equal(await storedInClear(t.dataDir, PASSWORD), false);
  });
});

describe('the SIP gateway port', () => {
  test('status comes from trunkStatus; onTrunksChanged follows every create, edit and delete', async () => {
    const app = Fastify({ logger: false });
    useStrictValidation(app);
    await app.register(errorMapper);
    const changes: string[] = [];
    await app.register(trunksApi, {
      keys: new ApiKeyService(t.server.store.apiKeys),
      store: t.server.store,
      secrets: new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword),
      trunkStatus: (id) => (id.endsWith('0') ? 'registered' : 'unreachable'),
      onTrunksChanged: (instanceId) => {
        changes.push(instanceId);
        throw new Error('a failing gateway does not fail the request');
      },
    });
    const inject = (method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, payload?: object) =>
      app.inject({ method, url, payload, headers: { 'x-api-key': ADMIN_KEY } }).then((r) => ({ status: r.statusCode, body: r.body ? r.json() : {} }));
    const created = await inject('POST', '/api/v1/trunks', { name: uniqueName(), host: 'gw.example' });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, (created.body.id as string).endsWith('0') ? 'registered' : 'unreachable');
    assert.equal((await inject('PATCH', `/api/v1/trunks/${created.body.id}`, { port: 5090 })).status, 200);
    assert.equal((await inject('PATCH', `/api/v1/trunks/${created.body.id}`, { port: 0 })).status, 400);
    assert.equal((await inject('GET', '/api/v1/trunks')).status, 200);
    assert.equal((await inject('DELETE', `/api/v1/trunks/${created.body.id}`)).status, 204);
    assert.deepEqual(changes, [t.server.instanceId, t.server.instanceId, t.server.instanceId], 'create, edit, delete; not a failed edit or a read');
    await app.close();
  });
});

describe('/api/v1/numbers', () => {
  const number = (body: Record<string, unknown>) => api(t, 'POST', '/api/v1/numbers', { key: ADMIN_KEY, body: { destination: '1001', destination_type: 'extension', ...body } });

  test('creates, lists, looks up and deletes, with or without the +', async () => {
    const res = await number({ number: '+15551234567' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body, { number: '+15551234567', destination: '1001', destination_type: 'extension', trunk_id: null });
    const plain = await number({ number: '4930123456', destination: '1002' });
    assert.deepEqual(plain.body.number, '4930123456', 'shown as given');
    for (const again of ['+15551234567', '15551234567']) {
      const clash = await number({ number: again });
      assert.deepEqual([clash.status, clash.body.code], [409, 'conflict'], again);
    }
    const list = (await api(t, 'GET', '/api/v1/numbers', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];
    assert.ok(list.some((n) => n.number === '+15551234567') && list.some((n) => n.number === '4930123456'));
    const store = t.server.store.numbers;
    for (const dialled of ['+15551234567', '15551234567']) assert.equal((await store.lookup(t.server.instanceId, dialled))?.destination, '1001', dialled);
    assert.equal((await store.lookup(t.server.instanceId, '+4930123456'))?.number, '4930123456');
    assert.equal(await store.lookup(t.server.instanceId, '15550000000'), undefined);
    assert.equal(await store.lookup(t.server.instanceId, 'sip:junk'), undefined);
    assert.equal((await api(t, 'DELETE', '/api/v1/numbers/15551234567', { key: ADMIN_KEY })).status, 204, 'without the +');
    assert.equal((await api(t, 'DELETE', '/api/v1/numbers/%2B4930123456', { key: ADMIN_KEY })).status, 204, 'with the +');
    const gone = await api(t, 'DELETE', '/api/v1/numbers/+15551234567', { key: ADMIN_KEY });
    assert.deepEqual([gone.status, gone.body.code], [404, 'not_found']);
    assert.equal((await api(t, 'DELETE', '/api/v1/numbers/abc', { key: ADMIN_KEY })).status, 400);
  });

  test('rejects each bad field with 400 naming it', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ number: undefined }, /number/],
      [{ number: 'abc' }, /number/],
      [{ number: '+1' }, /number/],
      [{ number: '1'.repeat(21) }, /number/],
      [{ number: '++15551234567' }, /number/],
      [{ number: '+1 555 123' }, /number/],
      [{ number: '15550000001', destination: undefined }, /destination/],
      [{ number: '15550000001', destination: '' }, /destination/],
      [{ number: '15550000001', destination: 'has space' }, /destination/],
      [{ number: '15550000001', destination_type: 'fax' }, /destination_type/],
      [{ number: '15550000001', destination_type: undefined }, /destination_type/],
      [{ number: '15550000001', destination: 'nobody', destination_type: 'ai_agent' }, /destination: no agent "nobody"/],
      [{ number: '15550000001', destination: '700', destination_type: 'queue' }, /destination: no queue 700/],
      [{ number: '15550000001', destination: '800', destination_type: 'ivr' }, /destination: no IVR menu 800/],
      [{ number: '15550000001', trunk_id: 'abc' }, /trunk_id/],
      [{ number: '15550000001', extra: true }, /extra|additional/],
    ];
    for (const [fields, field] of cases) {
      const res = await number(fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.code, 'bad_request');
      assert.match(res.body.message as string, field, `${JSON.stringify(fields)} → ${res.body.message}`);
    }
    const unknownTrunk = await number({ number: '15550000001', trunk_id: '12345' });
    assert.deepEqual([unknownTrunk.status, unknownTrunk.body.code], [404, 'not_found']);
    assert.equal(await t.server.store.numbers.lookup(t.server.instanceId, '15550000001'), undefined);
  });

  test('queue and IVR destinations must exist; extensions need not (they may register later)', async () => {
    assert.equal((await number({ number: '15550000010', destination: '9999' })).status, 201);
    const q = await api(t, 'POST', '/api/v1/queues', { key: ADMIN_KEY, body: { number: '701', name: 'Sales', strategy: 'ring-all', members: ['1001'] } });
    assert.equal(q.status, 201);
    const toQueue = await number({ number: '15550000011', destination: '701', destination_type: 'queue' });
    assert.deepEqual([toQueue.status, toQueue.body.destination_type], [201, 'queue']);
    await t.server.store.routing.insertIvr({ id: t.server.store.ids.next(), instanceId: t.server.instanceId, number: '801', name: 'Menu', options: { '1': '1001' }, promptPath: '/dev/null' });
    assert.equal((await number({ number: '15550000012', destination: '801', destination_type: 'ivr' })).status, 201);
    assert.equal((await number({ number: '15550000013', destination: '801', destination_type: 'queue' })).status, 400, 'an IVR is not a queue');
  });

  test('a number on a trunk: the trunk cannot be deleted while numbers arrive on it (409)', async () => {
    const trunk = await createTrunk({});
    const id = trunk.body.id as string;
    const res = await number({ number: '+15550000020', trunk_id: id });
    assert.deepEqual([res.status, res.body.trunk_id], [201, id]);
    assert.equal((await number({ number: '+15550000021', trunk_id: null })).body.trunk_id, null);
    const refused = await api(t, 'DELETE', `/api/v1/trunks/${id}`, { key: ADMIN_KEY });
    assert.deepEqual([refused.status, refused.body.code], [409, 'conflict']);
    assert.match(refused.body.message as string, /15550000020/);
    assert.equal((await api(t, 'DELETE', '/api/v1/numbers/+15550000020', { key: ADMIN_KEY })).status, 204);
    assert.equal((await api(t, 'DELETE', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })).status, 204);
    assert.equal((await api(t, 'GET', `/api/v1/trunks/${id}`, { key: ADMIN_KEY })).status, 404);
  });
});

describe('logs', () => {
  test("a server logging at trace never writes a trunk's password, accepted or refused", async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { fileURLToPath } = await import('node:url');
    const dataDir = mkdtempSync(join(tmpdir(), 'astral-trunk-log-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts'], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ASTRAL_DATA_DIR: dataDir, ASTRAL_BOOTSTRAP_API_KEY: ADMIN_KEY, ASTRAL_WORKERS: '1', ASTRAL_LISTEN_IP: '127.0.0.1', ASTRAL_DEMO: 'false', LOG_LEVEL: 'trace' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 60_000);
        const check = () => {
          const m = /listening at (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on('data', check);
        child.once('exit', () => reject(new Error(`the server exited:\n${output}`)));
      });
      const call = (method: string, path: string, body: unknown) =>
        fetch(url + path, { method, headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const created = await call('POST', '/api/v1/trunks', { name: 'logged', host: 'sip.example', username: 'acct', password: PASSWORD, register: true });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      assert.equal((await call('PATCH', `/api/v1/trunks/${id}`, { password: `${PASSWORD}-new` })).status, 200);
      assert.equal((await call('PATCH', `/api/v1/trunks/${id}`, { password: PASSWORD, port: 'bad' })).status, 400);
      assert.equal((await call('POST', '/api/v1/trunks', { name: 'x', host: 'bad host', password: PASSWORD })).status, 400);
      assert.equal((await call('POST', '/api/v1/trunks', `{"name":"y","password":"${PASSWORD}"`)).status, 400);
      assert.equal((await call('POST', '/api/v1/trunks', { name: 'z', host: 'h.example', password: PASSWORD.repeat(20) })).status, 400);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(output, /incoming request/, 'requests were logged');
      assert.equal(output.includes(PASSWORD), false, 'the password is in the log');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
