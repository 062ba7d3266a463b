// Seed 004's service API contract: POST /v1/calls and GET /v1/calls/{id} (422/401/403/404 in FastAPI's shape, instance
// isolation) and the call-completed webhook (X-Astral-Signature and Retell's scheme, idempotent, 401/404/422).
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';

const WEBHOOK_SECRET = 'whsec-service-calls-test-7f3a';
const RETELL_KEY = 'key_retell-service-calls-test-19bb';

let t: TestServer;
let serviceKey: string;
let readOnlyKey: string;
let other: { id: string; key: string };

before(async () => {
  t = await startTestServer();
  serviceKey = await createKey(t, 'service', ['agents.call']);
  readOnlyKey = await createKey(t, 'reader', ['calls.read']);
  const created = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'service-other' } });
  const key = await api(t, 'POST', `/api/v1/instances/${String(created.body.id)}/keys`, { key: ADMIN_KEY, body: { name: 'other', permissions: ['agents.call'] } });
  other = { id: String(created.body.id), key: String(key.body.key) };
});
after(() => t.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const post = (path: string, body: unknown, headers: Record<string, string> = bearer(serviceKey)) => api(t, 'POST', path, { body, headers });
const get = (path: string, key = serviceKey) => api(t, 'GET', path, { headers: bearer(key) });

type Detail = { loc: (string | number)[]; msg: string; type: string }[];

/** An agent call as the store holds it (what POST /v1/calls or a call to the agent writes), for the read and webhook paths. */
async function storedAgentCall(instanceId = t.server.instanceId, status: 'in-progress' | 'completed' = 'completed') {
  const callId = String(Date.now()) + String(Math.floor(Math.random() * 1000));
  const serviceId = randomUUID();
  const providerCallId = `CA${randomUUID().replace(/-/g, '')}`;
  const store = t.server.store.agentCalls;
  await store.insert({ callId, serviceId, instanceId, agentKey: 'akylai', phone: '+996700000000', direction: 'outbound', status: 'ringing', providerCallId, createdAt: new Date(Date.now() - 65_000) });
  await store.setStatus(callId, 'in-progress', new Date(Date.now() - 60_000));
  await store.addTurn(callId, { role: 'agent', text: 'Hello, this is Akylai.', at: new Date().toISOString() });
  await store.addTurn(callId, { role: 'user', text: 'Hi', at: new Date().toISOString() });
  if (status === 'completed') await store.setStatus(callId, 'completed', new Date());
  return { callId, serviceId, providerCallId };
}

describe('POST /v1/calls', () => {
  test('validates the body as FastAPI does: missing fields, wrong types, bad JSON → 422 with loc/msg/type', async () => {
    const missing = await post('/v1/calls', {});
    assert.equal(missing.status, 422);
    const locs = (missing.body.detail as Detail).map((d) => d.loc.join('.'));
    assert.ok(locs.includes('body.phone') || locs.includes('body.agent'), JSON.stringify(missing.body));
    assert.equal((missing.body.detail as Detail)[0]!.type, 'missing');
    const wrongType = await post('/v1/calls', { phone: 996700000000, agent: 'akylai' });
    assert.equal(wrongType.status, 422);
    assert.deepEqual((wrongType.body.detail as Detail)[0], { loc: ['body', 'phone'], msg: 'Input should be a valid string', type: 'string_type' });
    const badJson = await post('/v1/calls', '{"phone": "+99', { ...bearer(serviceKey) });
    assert.equal(badJson.status, 422);
    assert.equal((badJson.body.detail as Detail)[0]!.type, 'json_invalid');
  });

  test('an unknown agent or an unreachable phone is 422 naming the field', async () => {
    const agent = await post('/v1/calls', { phone: '+996700000000', agent: 'nobody' });
    assert.equal(agent.status, 422);
    assert.deepEqual((agent.body.detail as Detail)[0]!.loc, ['body', 'agent']);
    assert.match((agent.body.detail as Detail)[0]!.msg, /nobody/);
    const phone = await post('/v1/calls', { phone: 'not a phone', agent: 'akylai' });
    assert.equal(phone.status, 422);
    assert.deepEqual((phone.body.detail as Detail)[0]!.loc, ['body', 'phone']);
    // A well-formed number, but this instance has no SIP trunk to reach it.
    const noTrunk = await post('/v1/calls', { phone: '+996700000000', agent: 'akylai' });
    assert.equal(noTrunk.status, 422);
    assert.deepEqual((noTrunk.body.detail as Detail)[0]!.loc, ['body', 'phone']);
    assert.match((noTrunk.body.detail as Detail)[0]!.msg, /trunk/);
    // Another instance's agents are not this instance's: its key sees no akylai of ours... unless it has its own.
    const foreign = await post('/v1/calls', { phone: '1001', agent: 'akylai' }, bearer(other.key));
    assert.equal(foreign.status, 422);
    assert.deepEqual((foreign.body.detail as Detail)[0]!.loc, ['body', 'agent']);
  });

  test('a missing or bad key is 401 with WWW-Authenticate; a key without agents.call is 403', async () => {
    const none = await api(t, 'POST', '/v1/calls', { body: { phone: '1001', agent: 'akylai' } });
    assert.equal(none.status, 401);
    assert.equal(typeof none.body.detail, 'string');
    const bad = await post('/v1/calls', { phone: '1001', agent: 'akylai' }, bearer('ak_not_a_key_at_all_0000000'));
    assert.equal(bad.status, 401);
    const res = await fetch(`${t.url}/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    const forbidden = await post('/v1/calls', { phone: '1001', agent: 'akylai' }, bearer(readOnlyKey));
    assert.equal(forbidden.status, 403);
  });
});

describe('GET /v1/calls/{call_id}', () => {
  test('answers the seed 004 call object with status, phone, agent, transcript and duration', async () => {
    const { serviceId } = await storedAgentCall();
    const res = await get(`/v1/calls/${serviceId}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['agent', 'call_id', 'created_at', 'duration', 'ended_at', 'phone', 'status', 'transcript']);
    assert.equal(res.body.call_id, serviceId);
    assert.equal(res.body.status, 'completed');
    assert.equal(res.body.phone, '+996700000000');
    assert.equal(res.body.agent, 'akylai');
    assert.equal(res.body.transcript, 'agent: Hello, this is Akylai.\nuser: Hi');
    assert.ok(Math.abs(Number(res.body.duration) - 60) <= 1, `duration ${String(res.body.duration)}`);
    assert.match(String(res.body.ended_at), /Z$/);
  });

  test('a non-UUID id is 422 at path.call_id; unknown and other instances’ calls are 404', async () => {
    const bad = await get('/v1/calls/12345');
    assert.equal(bad.status, 422);
    assert.deepEqual((bad.body.detail as Detail)[0], { loc: ['path', 'call_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' });
    const unknown = await get(`/v1/calls/${randomUUID()}`);
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body.detail, 'string');
    const { serviceId } = await storedAgentCall();
    const foreign = await get(`/v1/calls/${serviceId}`, other.key);
    assert.equal(foreign.status, 404);
  });
});

describe('POST /v1/webhooks/call-completed', () => {
  const sign = (raw: string, secret = WEBHOOK_SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  const send = (raw: string, headers: Record<string, string>) =>
    fetch(`${t.url}/v1/webhooks/call-completed`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  before(async () => {
    const setup = await api(t, 'POST', `/v1/instances/${t.server.instanceId}/channels/voice`, { key: ADMIN_KEY, body: { provider: 'pipecat', webhook_secret: WEBHOOK_SECRET } });
    assert.equal(setup.status, 200, JSON.stringify(setup.body));
  });

  test('a signed final result is stored once: the provider transcript and duration show on GET, a repeat is a no-op', async () => {
    const { serviceId, providerCallId } = await storedAgentCall();
    const payload = { event_type: 'call.completed', provider_call_id: providerCallId, status: 'completed', transcript: 'agent: Hello\nuser: Hi', duration: 120 };
    const raw = JSON.stringify(payload);
    const first = await send(raw, { 'x-astral-signature': sign(raw) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { ok: true, call_id: serviceId, duplicate: false });
    const call = await get(`/v1/calls/${serviceId}`);
    assert.equal(call.body.transcript, 'agent: Hello\nuser: Hi');
    assert.equal(call.body.duration, 120);
    const changed = JSON.stringify({ ...payload, transcript: 'agent: something else', duration: 5 });
    const again = await send(changed, { 'x-astral-signature': sign(changed) });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    assert.equal((await get(`/v1/calls/${serviceId}`)).body.transcript, 'agent: Hello\nuser: Hi');
  });

  test('a bad, missing or foreign signature is 401 and stores nothing; an unknown provider_call_id is 404', async () => {
    const { serviceId, providerCallId } = await storedAgentCall();
    const raw = JSON.stringify({ event_type: 'call.completed', provider_call_id: providerCallId, status: 'completed', transcript: 'agent: forged', duration: 1 });
    const attempts: Record<string, string>[] = [{}, { 'x-astral-signature': sign(raw, 'wrong-secret') }, { 'x-astral-signature': 'sha256=zz' }, { 'x-astral-signature': sign(raw + ' ') }];
    for (const headers of attempts) {
      const res = await send(raw, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(typeof res.body.detail, 'string');
    }
    assert.equal((await get(`/v1/calls/${serviceId}`)).body.transcript, 'agent: Hello, this is Akylai.\nuser: Hi');
    const unknownRaw = JSON.stringify({ event_type: 'call.completed', provider_call_id: 'CA-unknown', status: 'completed', transcript: '', duration: 0 });
    assert.equal((await send(unknownRaw, { 'x-astral-signature': sign(unknownRaw) })).status, 404);
  });

  test('a malformed payload is 422', async () => {
    for (const raw of ['{', JSON.stringify({ event_type: 'call.started', provider_call_id: 'x', status: 'completed' }), JSON.stringify({ provider_call_id: 'x', status: 'completed' }), JSON.stringify({ event_type: 'call.completed', provider_call_id: 'x', status: 'completed', duration: 'long' })]) {
      const res = await send(raw, { 'x-astral-signature': sign(raw) });
      assert.equal(res.status, 422, raw);
      assert.ok(Array.isArray(res.body.detail), raw);
    }
  });

  test('a retell channel also accepts x-retell-signature (HMAC of body + timestamp with the API key), within five minutes', async () => {
    const created = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'retell-instance' } });
    const instanceId = String(created.body.id);
    const setup = await api(t, 'POST', `/v1/instances/${instanceId}/channels/voice`, { key: ADMIN_KEY, body: { provider: 'retell', api_key: RETELL_KEY, agent_id: 'agent_123' } });
    assert.equal(setup.status, 200, JSON.stringify(setup.body));
    const { serviceId, providerCallId } = await storedAgentCall(instanceId);
    const raw = JSON.stringify({ event_type: 'call.completed', provider_call_id: providerCallId, status: 'completed', transcript: 'agent: via retell', duration: 7 });
    const retellSign = (at: number, key = RETELL_KEY) => `v=${at},d=${createHmac('sha256', key).update(raw + String(at)).digest('hex')}`;
    assert.equal((await send(raw, { 'x-retell-signature': retellSign(Date.now() - 10 * 60_000) })).status, 401, 'stale timestamp');
    assert.equal((await send(raw, { 'x-retell-signature': retellSign(Date.now(), 'key_wrong') })).status, 401, 'wrong key');
    const ok = await send(raw, { 'x-retell-signature': retellSign(Date.now()) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const adminKey = await api(t, 'POST', `/api/v1/instances/${instanceId}/keys`, { key: ADMIN_KEY, body: { name: 'r', permissions: ['agents.call'] } });
    assert.equal((await get(`/v1/calls/${serviceId}`, String(adminKey.body.key))).body.transcript, 'agent: via retell');
  });
});
