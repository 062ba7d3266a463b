// AI agents: the admin API under /v1/instances/{instance_id}/agents, seed 004's GET /v1/agents, the built-in akylai.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

const agentsPath = (instanceId = t.server.instanceId) => `/v1/instances/${instanceId}/agents`;
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const create = (body: Record<string, unknown>, key = ADMIN_KEY) => api(t, 'POST', agentsPath(), { ...bearer(key), body });

describe('the built-in agent', () => {
  test('a fresh server has akylai (local, en) in the default instance; a restart does not add it twice', async () => {
    const res = await api(t, 'GET', `${agentsPath()}/akylai`, bearer(ADMIN_KEY));
    assert.equal(res.status, 200);
    assert.deepEqual({ ...res.body, created_at: undefined }, {
      key: 'akylai',
      name: 'Akylai',
      description: 'Built-in offline demo agent (espeak-ng + pocketsphinx)',
      language: 'en',
      provider: 'local',
      url: null,
      provider_agent_id: null,
      greeting: null,
      prompt: null,
      voice: null,
      stt: null,
      llm: null,
      tts: null,
      llm_model: null,
      base_urls: {},
      created_at: undefined,
    });
    await t.server.store.agents.ensureDefault(t.server.instanceId);
    assert.equal((await t.server.store.agents.list(t.server.instanceId)).filter((a) => a.key === 'akylai').length, 1);
  });
});

describe('POST/GET/DELETE /v1/instances/{instance_id}/agents', () => {
  test('creates a pipecat agent with a bot URL (201, every field), lists it, gets it, deletes it (204)', async () => {
    const body = {
      key: 'altai',
      name: 'Altai',
      description: 'Sales line',
      language: 'ky',
      provider: 'pipecat',
      url: 'wss://bot.example.com/ws',
      greeting: 'Salam!',
      prompt: 'Be brief.',
      voice: 'female-1',
    };
    const res = await create(body);
    assert.equal(res.status, 201);
    assert.deepEqual({ ...res.body, created_at: undefined }, { ...body, provider_agent_id: null, stt: null, llm: null, tts: null, llm_model: null, base_urls: {}, created_at: undefined });
    assert.ok(!Number.isNaN(Date.parse(String(res.body.created_at))));
    const list = (await api(t, 'GET', agentsPath(), bearer(ADMIN_KEY))).body as unknown as { key: string; url: string | null }[];
    assert.deepEqual(list.map((a) => a.key), ['akylai', 'altai']);
    assert.equal(list[1]!.url, 'wss://bot.example.com/ws', 'the admin view has every field');
    assert.deepEqual((await api(t, 'GET', `${agentsPath()}/altai`, { key: ADMIN_KEY })).body, res.body);
    assert.equal((await api(t, 'DELETE', `${agentsPath()}/altai`, bearer(ADMIN_KEY))).status, 204);
    assert.equal((await api(t, 'GET', `${agentsPath()}/altai`, bearer(ADMIN_KEY))).status, 404);
    assert.deepEqual(await api(t, 'DELETE', `${agentsPath()}/altai`, bearer(ADMIN_KEY)), { status: 404, body: { detail: 'Agent not found' } });
  });

  test('defaults: language en; pipecat without a url (the built-in pipeline) and retell with a provider agent id are fine', async () => {
    const pipeline = await create({ key: 'pipeline', name: 'Pipeline', provider: 'pipecat' });
    assert.equal(pipeline.status, 201);
    assert.deepEqual([pipeline.body.language, pipeline.body.url, pipeline.body.description], ['en', null, null]);
    const retell = await create({ key: 'ret-1', name: 'Retell one', provider: 'retell', provider_agent_id: 'agent_abc' });
    assert.equal(retell.status, 201);
    assert.equal(retell.body.provider_agent_id, 'agent_abc');
    for (const key of ['pipeline', 'ret-1']) await t.server.store.agents.remove(t.server.instanceId, key);
  });

  test('pipeline vendors: stt, llm, tts, llm_model and base_urls are stored and shown; 422 for a bad vendor, URL or agent kind', async () => {
    const body = { stt: 'deepgram', llm: 'openai', tts: 'elevenlabs', llm_model: 'llama3', base_urls: { openai: 'http://ollama:11434/v1', deepgram: 'ws://stt.local' } };
    const res = await create({ key: 'vendors', name: 'Vendors', provider: 'pipecat', ...body });
    assert.equal(res.status, 201);
    assert.deepEqual([res.body.stt, res.body.llm, res.body.tts, res.body.llm_model, res.body.base_urls], Object.values(body));
    assert.deepEqual((await api(t, 'GET', `${agentsPath()}/vendors`, bearer(ADMIN_KEY))).body.base_urls, body.base_urls);
    await t.server.store.agents.remove(t.server.instanceId, 'vendors');
    const problem = async (fields: Record<string, unknown>) => {
      const bad = await create({ key: 'bad-vendors', name: 'Bad', provider: 'local', ...fields });
      assert.equal(bad.status, 422, JSON.stringify(fields));
      return (bad.body.detail as { loc: unknown[]; type: string }[])[0]!;
    };
    assert.deepEqual((await problem({ stt: 'whisper' })).loc, ['body', 'stt']);
    assert.deepEqual((await problem({ base_urls: { openai: 'ftp://x' } })).loc.slice(0, 2), ['body', 'base_urls']);
    assert.deepEqual((await problem({ base_urls: { vapi: 'http://x' } })).type, 'extra_forbidden');
    assert.deepEqual((await problem({ provider: 'pipecat', url: 'wss://bot.example.com', llm: 'openai' })).loc, ['body', 'llm']);
    assert.equal(await t.server.store.agents.byKey(t.server.instanceId, 'bad-vendors'), undefined);
  });

  test('a duplicate key: 409 {"detail"}', async () => {
    const res = await create({ key: 'akylai', name: 'Another', provider: 'local' });
    assert.equal(res.status, 409);
    assert.equal(typeof res.body.detail, 'string');
    assert.equal((await t.server.store.agents.byKey(t.server.instanceId, 'akylai'))?.name, 'Akylai');
  });

  test('validation: 422 in the FastAPI shape naming the field', async () => {
    const problem = async (body: Record<string, unknown>) => {
      const res = await create({ key: 'valid', name: 'Valid', provider: 'local', ...body });
      assert.equal(res.status, 422, JSON.stringify(body));
      return (res.body.detail as { loc: unknown[]; type: string }[])[0]!;
    };
    for (const key of ['Akylai', '1abc', '', 'a'.repeat(65), 'has space', 'ünï']) assert.deepEqual((await problem({ key })).loc, ['body', 'key'], key);
    assert.deepEqual(await problem({ provider: 'vapi' }), { loc: ['body', 'provider'], msg: "Input should be 'local', 'pipecat', 'retell' or 'openai-realtime'", type: 'literal_error' });
    assert.deepEqual((await problem({ provider: 'pipecat', url: 'https://bot.example.com' })).loc, ['body', 'url']);
    assert.deepEqual((await problem({ provider: 'pipecat', url: 'not a url' })).loc, ['body', 'url']);
    assert.deepEqual(await problem({ provider: 'local', url: 'wss://bot.example.com' }), { loc: ['body', 'url'], msg: 'Value error, url is only for pipecat agents', type: 'value_error' });
    assert.deepEqual((await problem({ provider: 'retell', url: 'wss://bot.example.com' })).loc, ['body', 'url']);
    assert.deepEqual((await problem({ language: 'English' })).loc, ['body', 'language']);
    assert.deepEqual((await problem({ name: 5 })).type, 'string_type');
    assert.deepEqual((await problem({ extra: 1 })).type, 'extra_forbidden');
    assert.deepEqual(await problem({ key: undefined }), { loc: ['body', 'key'], msg: 'Field required', type: 'missing' });
    assert.equal(await t.server.store.agents.byKey(t.server.instanceId, 'valid'), undefined, 'nothing was created');
    const badPath = await api(t, 'GET', '/v1/instances/xyz/agents', bearer(ADMIN_KEY));
    assert.deepEqual(badPath.body, { detail: [{ loc: ['path', 'instance_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }] });
  });

  test('auth: 401 without a valid key, 403 without admin, 404 for an unknown or another instance', async () => {
    assert.equal((await api(t, 'GET', agentsPath())).status, 401);
    assert.equal((await api(t, 'POST', agentsPath(), { ...bearer('ak_nope_0123456789abcdefgh'), body: { key: 'x', name: 'x', provider: 'local' } })).status, 401);
    const caller = await createKey(t, 'agents-caller', ['agents.call']);
    assert.equal((await create({ key: 'by-caller', name: 'x', provider: 'local' }, caller)).status, 403);
    assert.equal((await api(t, 'GET', agentsPath(), bearer(caller))).status, 403, 'the admin view is for admins');
    assert.equal((await api(t, 'DELETE', `${agentsPath()}/akylai`, bearer(caller))).status, 403);
    assert.deepEqual(await api(t, 'GET', agentsPath(randomUUID()), bearer(ADMIN_KEY)), { status: 404, body: { detail: 'Instance not found' } });
  });
});

describe('GET /v1/agents (seed 004)', () => {
  test("the key's instance's agents with safe fields only", async () => {
    await create({ key: 'secretive', name: 'Secretive', provider: 'pipecat', url: 'wss://internal.example/bot', prompt: 'internal prompt', provider_agent_id: 'prov-1' });
    try {
      const caller = await createKey(t, 'agents-lister', ['agents.call']);
      const res = await api(t, 'GET', '/v1/agents', bearer(caller));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [
        { key: 'akylai', name: 'Akylai', description: 'Built-in offline demo agent (espeak-ng + pocketsphinx)', language: 'en' },
        { key: 'secretive', name: 'Secretive', description: null, language: 'en' },
      ]);
      assert.equal((await api(t, 'GET', '/v1/agents', { key: caller })).status, 200, 'X-Api-Key too');
      const text = JSON.stringify(res.body);
      for (const internal of ['wss://internal.example/bot', 'internal prompt', 'prov-1', 'pipecat']) assert.equal(text.includes(internal), false, internal);
    } finally {
      await t.server.store.agents.remove(t.server.instanceId, 'secretive');
    }
  });

  test('401 without a valid key; 403 for a key without agents.call', async () => {
    assert.deepEqual((await api(t, 'GET', '/v1/agents')).status, 401);
    assert.deepEqual((await api(t, 'GET', '/v1/agents', bearer('ak_nope_0123456789abcdefgh'))).status, 401);
    const reader = await createKey(t, 'agents-reader', ['calls.read']);
    assert.equal((await api(t, 'GET', '/v1/agents', bearer(reader))).status, 403);
  });
});
