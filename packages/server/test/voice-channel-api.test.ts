// Seed 003's voice channel: exact status shape, set up and update, sealed credentials, active calls, FastAPI errors, logs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecretBox, SecretPurposes } from '../src/auth/secret-box.js';
import { readDatabase, storedInClear } from './at-rest.js';
import { ADMIN_KEY, api, createKey, startTestServer, type TestServer } from './helpers.js';

const SECRET_KEY = 'voice-test-secret-key-0123456789abcdef';
const OPENAI = 'sk-openai-never-shown-5b1e';
const RETELL = 'key_retell-never-shown-9c2d';
const WEBHOOK_SECRET = 'whsec-never-shown-41aa';
const CREDENTIAL_NAMES = [
  'api_key',
  'openai_api_key',
  'anthropic_api_key',
  'deepgram_api_key',
  'elevenlabs_api_key',
  'cartesia_api_key',
  'google_api_key',
  'twilio_account_sid',
  'twilio_auth_token',
  'webhook_secret',
];
const flags = (set: string[]) => Object.fromEntries(CREDENTIAL_NAMES.map((n) => [n, set.includes(n)]));

let t: TestServer;
let other: { id: string; key: string };
before(async () => {
  t = await startTestServer({ ASTRAL_SECRET_KEY: SECRET_KEY, ASTRAL_PUBLIC_URL: 'https://pbx.example.com/' });
  const created = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'voice-other' } });
  const key = await api(t, 'POST', `/api/v1/instances/${String(created.body.id)}/keys`, { key: ADMIN_KEY, body: { name: 'other-admin', permissions: ['admin'] } });
  other = { id: String(created.body.id), key: String(key.body.key) };
});
after(() => t.close());

const voicePath = (instanceId = t.server.instanceId) => `/v1/instances/${instanceId}/channels/voice`;
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const rawRow = (instanceId: string) =>
  readDatabase(t.dataDir, async (db) => (await db.selectFrom('voice_channels').selectAll().where('instance_id', '=', instanceId).executeTakeFirst()) as Record<string, unknown> | undefined);
const reset = async () => {
  await t.server.store.voiceChannels.remove(t.server.instanceId);
};

describe('GET|POST|DELETE /v1/instances/{instance_id}/channels/voice', () => {
  test('before any POST: 200, not configured, nothing set', async () => {
    await reset();
    const res = await api(t, 'GET', voicePath(), bearer(ADMIN_KEY));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      active_calls: 0,
      enabled: false,
      phone_number: null,
      provider: null,
      status: 'not_configured',
      webhook_url: 'https://pbx.example.com/v1/webhooks/call-completed',
      credentials: flags([]),
    });
  });

  test('POST sets up the channel (provider retell by default) and answers the status object; credentials only as flags', async () => {
    await reset();
    const res = await api(t, 'POST', voicePath(), { ...bearer(ADMIN_KEY), body: { api_key: RETELL, agent_id: 'agent_123', openai_api_key: OPENAI, phone_number: '+15550001111' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      active_calls: 0,
      enabled: true,
      phone_number: '+15550001111',
      provider: 'retell',
      status: 'active',
      webhook_url: 'https://pbx.example.com/v1/webhooks/call-completed',
      credentials: flags(['api_key', 'openai_api_key']),
    });
    const get = await api(t, 'GET', voicePath(), { key: ADMIN_KEY });
    assert.deepEqual(get.body, res.body, 'X-Api-Key works as well as Bearer, and GET says the same');
    for (const body of [res.body, get.body]) assert.equal(JSON.stringify(body).includes(OPENAI) || JSON.stringify(body).includes(RETELL), false);
  });

  test('a second POST updates: omitted fields keep their value, an empty string clears one', async () => {
    await reset();
    await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { api_key: RETELL, agent_id: 'agent_123', openai_api_key: OPENAI, deepgram_api_key: 'dg', phone_number: '+15550001111' } });
    const res = await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { deepgram_api_key: '', webhook_secret: WEBHOOK_SECRET, phone_number: '+15550002222' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.phone_number, '+15550002222');
    assert.equal(res.body.provider, 'retell');
    assert.deepEqual(res.body.credentials, flags(['api_key', 'openai_api_key', 'webhook_secret']));
    const box = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.voiceCredentials);
    assert.deepEqual(await t.server.store.voiceChannels.credentials(t.server.instanceId, box), { api_key: RETELL, openai_api_key: OPENAI, webhook_secret: WEBHOOK_SECRET });
    assert.equal(await t.server.store.voiceChannels.webhookSecret(t.server.instanceId, box), WEBHOOK_SECRET);

    const cleared = await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { api_key: '', agent_id: '' } });
    assert.equal(cleared.body.status, 'incomplete', 'retell without its key and agent cannot take calls');
    const pipecat = await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { provider: 'pipecat' } });
    assert.deepEqual([pipecat.body.provider, pipecat.body.status, pipecat.body.phone_number], ['pipecat', 'active', '+15550002222']);
  });

  test('credentials are sealed at rest: not in the row, not in the database files; they open only under the voice purpose', async () => {
    await reset();
    await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { api_key: RETELL, openai_api_key: OPENAI, webhook_secret: WEBHOOK_SECRET } });
    const row = (await rawRow(t.server.instanceId))!;
    assert.equal(Object.values(row).some((v) => typeof v === 'string' && (v.includes(OPENAI) || v.includes(RETELL) || v.includes(WEBHOOK_SECRET))), false);
    assert.deepEqual(JSON.parse(row.credential_names as string), ['api_key', 'openai_api_key', 'webhook_secret']);
    const sealed = row.credentials_sealed as string;
    assert.deepEqual(JSON.parse(new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.voiceCredentials).open(sealed)), { api_key: RETELL, openai_api_key: OPENAI, webhook_secret: WEBHOOK_SECRET });
    assert.throws(() => new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.trunkPassword).open(sealed));
    assert.equal(await storedInClear(t.dataDir, OPENAI), false, 'nowhere in the database as stored');
  });

  test('credentials sealed under another secret key: a POST answers 409 until DELETE and a new set-up', async () => {
    await reset();
    const foreignBox = new SecretBox(Buffer.from('another-secret-key-0123456789abcdef'), SecretPurposes.voiceCredentials);
    await t.server.store.voiceChannels.configure(t.server.instanceId, { credentials: { openai_api_key: OPENAI } }, foreignBox);
    const res = await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { deepgram_api_key: 'dg' } });
    assert.equal(res.status, 409);
    assert.match(String(res.body.detail), /DELETE the voice channel/);
    assert.equal((await api(t, 'DELETE', voicePath(), { key: ADMIN_KEY })).status, 204);
    assert.equal((await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { deepgram_api_key: 'dg' } })).status, 200);
  });

  test('DELETE removes the channel and its credentials (204, row gone); again: 404', async () => {
    await reset();
    await api(t, 'POST', voicePath(), { key: ADMIN_KEY, body: { openai_api_key: OPENAI } });
    const res = await fetch(t.url + voicePath(), { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    assert.equal(await rawRow(t.server.instanceId), undefined);
    const box = new SecretBox(Buffer.from(SECRET_KEY), SecretPurposes.voiceCredentials);
    assert.deepEqual(await t.server.store.voiceChannels.credentials(t.server.instanceId, box), {});
    assert.equal((await api(t, 'GET', voicePath(), { key: ADMIN_KEY })).body.status, 'not_configured');
    const again = await api(t, 'DELETE', voicePath(), { key: ADMIN_KEY });
    assert.equal(again.status, 404);
    assert.equal(typeof again.body.detail, 'string');
  });
});

describe('GET /v1/instances/{instance_id}/channels/voice/calls', () => {
  test("lists the instance's live agent calls with their turns; active_calls counts them; ended and other instances' calls are not there", async () => {
    const calls = t.server.store.agentCalls;
    const started = new Date(Date.now() - 5000);
    const mk = (instanceId: string, phone: string) => ({
      callId: String(Math.floor(Math.random() * 1e15)),
      serviceId: randomUUID(),
      instanceId,
      agentKey: 'akylai',
      phone,
      direction: 'inbound' as const,
      status: 'ringing' as const,
      providerCallId: `CA${randomUUID().replace(/-/g, '')}`,
      createdAt: started,
    });
    const live = mk(t.server.instanceId, '+15557770001');
    const ended = mk(t.server.instanceId, '+15557770002');
    const foreign = mk(other.id, '+15557770003');
    for (const c of [live, ended, foreign]) await calls.insert(c);
    await calls.setStatus(live.callId, 'in-progress', started);
    await calls.addTurn(live.callId, { role: 'agent', text: 'Hello', at: started.toISOString() });
    await calls.addTurn(live.callId, { role: 'user', text: 'Hi', at: new Date().toISOString() });
    await calls.setStatus(ended.callId, 'completed', new Date());
    try {
      const res = await api(t, 'GET', `${voicePath()}/calls`, bearer(ADMIN_KEY));
      assert.equal(res.status, 200);
      const list = res.body as unknown as Record<string, unknown>[];
      assert.equal(list.length, 1);
      assert.deepEqual(Object.keys(list[0]!).sort(), ['call_id', 'caller_phone', 'duration_seconds', 'state', 'transcript_turns']);
      assert.deepEqual({ ...list[0], duration_seconds: undefined }, { call_id: live.serviceId, caller_phone: '+15557770001', duration_seconds: undefined, state: 'in-progress', transcript_turns: 2 });
      assert.ok((list[0]!.duration_seconds as number) >= 4);
      assert.equal((await api(t, 'GET', voicePath(), bearer(ADMIN_KEY))).body.active_calls, 1);
      const theirs = await api(t, 'GET', `${voicePath(other.id)}/calls`, bearer(other.key));
      assert.deepEqual((theirs.body as unknown as { caller_phone: string }[]).map((c) => c.caller_phone), ['+15557770003']);
    } finally {
      for (const c of [live, foreign]) await calls.setStatus(c.callId, 'completed', new Date());
    }
  });
});

describe('FastAPI errors', () => {
  test('a non-UUID instance_id: 422 at ["path","instance_id"]', async () => {
    for (const [method, suffix] of [['GET', ''], ['POST', ''], ['DELETE', ''], ['GET', '/calls']] as const) {
      const res = await api(t, method, `/v1/instances/not-a-uuid/channels/voice${suffix}`, { key: ADMIN_KEY, body: method === 'POST' ? {} : undefined });
      assert.equal(res.status, 422, `${method} ${suffix}`);
      assert.deepEqual(res.body, { detail: [{ loc: ['path', 'instance_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }] });
    }
  });

  test('a wrong field type, an unknown provider, an unknown field, bad JSON: 422 naming the field', async () => {
    const post = (body: unknown) => api(t, 'POST', voicePath(), { key: ADMIN_KEY, body });
    assert.deepEqual((await post({ openai_api_key: 5 })).body, { detail: [{ loc: ['body', 'openai_api_key'], msg: 'Input should be a valid string', type: 'string_type' }] });
    assert.deepEqual((await post({ provider: 'vapi' })).body, { detail: [{ loc: ['body', 'provider'], msg: "Input should be 'retell' or 'pipecat'", type: 'literal_error' }] });
    assert.deepEqual((await post({ provider: 'retell', secret_sauce: 'x' })).body, { detail: [{ loc: ['body', 'secret_sauce'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] });
    const bad = await post('{"api_key": ');
    assert.equal(bad.status, 422);
    assert.equal((bad.body.detail as { type: string }[])[0]!.type, 'json_invalid');
  });

  test('a missing or bad key: 401 {"detail"}, Bearer or X-Api-Key alike', async () => {
    for (const options of [{}, { key: 'ak_wrong_key_0123456789abcdef' }, bearer('ak_wrong_key_0123456789abcdef'), { headers: { authorization: 'Basic abc' } }]) {
      for (const [method, suffix] of [['GET', ''], ['POST', ''], ['DELETE', ''], ['GET', '/calls']] as const) {
        const res = await api(t, method, `${voicePath()}${suffix}`, { ...options, body: method === 'POST' ? { openai_api_key: OPENAI } : undefined });
        assert.equal(res.status, 401, `${method} ${suffix} ${JSON.stringify(options)}`);
        assert.equal(typeof res.body.detail, 'string');
      }
    }
    assert.equal((await api(t, 'GET', '/v1/instances/not-a-uuid/channels/voice')).status, 401, 'authentication comes before validation');
  });

  test('permissions: admin for POST and DELETE; GET for admin or agents.call; others 403', async () => {
    const caller = await createKey(t, 'voice-caller', ['agents.call']);
    const reader = await createKey(t, 'voice-reader', ['calls.read']);
    assert.equal((await api(t, 'GET', voicePath(), bearer(caller))).status, 200);
    assert.equal((await api(t, 'GET', `${voicePath()}/calls`, bearer(caller))).status, 200);
    assert.equal((await api(t, 'POST', voicePath(), { ...bearer(caller), body: {} })).status, 403);
    assert.equal((await api(t, 'DELETE', voicePath(), bearer(caller))).status, 403);
    assert.equal((await api(t, 'GET', voicePath(), bearer(reader))).status, 403);
  });

  test("an unknown instance, or another instance's: 404 {\"detail\"}; a platform admin key reaches any instance", async () => {
    const unknown = await api(t, 'GET', voicePath(randomUUID()), bearer(ADMIN_KEY));
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { detail: 'Instance not found' });
    for (const [method, suffix] of [['GET', ''], ['POST', ''], ['DELETE', ''], ['GET', '/calls']] as const) {
      const res = await api(t, method, `${voicePath()}${suffix}`, { ...bearer(other.key), body: method === 'POST' ? { openai_api_key: 'x' } : undefined });
      assert.equal(res.status, 404, `another instance's admin key: ${method} ${suffix}`);
    }
    const byPlatform = await api(t, 'POST', voicePath(other.id), { ...bearer(ADMIN_KEY), body: { provider: 'pipecat' } });
    assert.equal(byPlatform.status, 200);
    assert.equal((await api(t, 'GET', voicePath(other.id), bearer(other.key))).body.provider, 'pipecat');
  });
});

describe('webhook_url', () => {
  test('without ASTRAL_PUBLIC_URL it is http://localhost:<port>', async () => {
    const local = await startTestServer();
    try {
      const res = await api(local, 'GET', voicePath(local.server.instanceId), bearer(ADMIN_KEY));
      assert.equal(res.body.webhook_url, `http://localhost:${new URL(local.url).port}/v1/webhooks/call-completed`);
    } finally {
      await local.close();
    }
  });
});

describe('logs', () => {
  test('a server logging at trace never writes a credential, accepted or refused', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { fileURLToPath } = await import('node:url');
    const dataDir = mkdtempSync(join(tmpdir(), 'astral-voice-log-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts'], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ASTRAL_DATA_DIR: dataDir, ASTRAL_BOOTSTRAP_API_KEY: ADMIN_KEY, ASTRAL_WORKERS: '1', ASTRAL_LISTEN_IP: '127.0.0.1', ASTRAL_SIP_PORT: '0', ASTRAL_DEMO: 'false', LOG_LEVEL: 'trace' },
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
      const instanceId = (await (await fetch(`${url}/api/v1/instances`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as { id: string }[];
      const post = (body: unknown) =>
        fetch(`${url}/v1/instances/${instanceId[0]!.id}/channels/voice`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
      assert.equal((await post({ api_key: RETELL, openai_api_key: OPENAI, webhook_secret: WEBHOOK_SECRET })).status, 200);
      assert.equal((await post({ openai_api_key: OPENAI, provider: 'nope' })).status, 422);
      assert.equal((await post(`{"openai_api_key":"${OPENAI}"`)).status, 422);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(output, /incoming request/, 'requests were logged');
      for (const secret of [RETELL, OPENAI, WEBHOOK_SECRET]) assert.equal(output.includes(secret), false, `${secret} is in the log`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
