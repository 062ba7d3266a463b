// Instances (tenants): the admin API and CLI, deleting an instance with its data, and the isolation matrix: a key of
// one instance never sees or changes another's objects (404 or an empty list, never 200 with foreign data).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { rowsOfInstance, storedInClear } from './at-rest.js';
import { ackRequest, ADMIN_KEY, api, createKey, postgresDatabaseOf, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server));

const newInstance = async (name: string) => {
  const res = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const key = await api(t, 'POST', `/api/v1/instances/${String(res.body.id)}/keys`, { key: ADMIN_KEY, body: { name: `${name}-admin`, permissions: ['admin'] } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return { id: String(res.body.id), key: String(key.body.key) };
};
const rowsOf = (instanceId: string) => rowsOfInstance(t.dataDir, instanceId);

describe('/api/v1/instances', () => {
  test('a platform admin creates an instance (201 {id,name,created_at}), lists and gets it', async () => {
    const res = await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'Acme' } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'id', 'name']);
    assert.match(String(res.body.id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(res.body.name, 'Acme');
    const list = (await api(t, 'GET', '/api/v1/instances', { key: ADMIN_KEY })).body as unknown as { id: string }[];
    assert.equal(list[0]!.id, t.server.instanceId, 'the default instance first');
    assert.ok(list.some((i) => i.id === res.body.id));
    assert.deepEqual((await api(t, 'GET', `/api/v1/instances/${String(res.body.id)}`, { key: ADMIN_KEY })).body, res.body);
    assert.equal((await api(t, 'GET', `/api/v1/instances/${randomUUID()}`, { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'GET', '/api/v1/instances/not-a-uuid', { key: ADMIN_KEY })).status, 400);
    assert.equal((await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: '' } })).status, 400);
    assert.equal((await api(t, 'POST', '/api/v1/instances', { key: ADMIN_KEY, body: { name: 'x', extra: 1 } })).status, 400);
  });

  test("keys: shown once, stored hashed, working for their instance only with their permissions", async () => {
    const b = await newInstance('keys-b');
    const res = await api(t, 'POST', `/api/v1/instances/${b.id}/keys`, { key: ADMIN_KEY, body: { name: 'b-reader', permissions: ['calls.read'] } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['id', 'key']);
    const key = String(res.body.key);
    assert.match(key, /^ak_/);
    assert.equal(await storedInClear(t.dataDir, key), false, 'not stored in clear');
    assert.equal((await t.server.store.apiKeys.list(b.id)).find((k) => k.id === res.body.id)?.name, 'b-reader');
    assert.equal((await api(t, 'GET', '/api/v1/calls/count', { key })).status, 200);
    assert.equal((await api(t, 'GET', '/api/v1/trunks', { key })).status, 403);
    assert.equal((await api(t, 'POST', `/api/v1/instances/${b.id}/keys`, { key: ADMIN_KEY, body: { name: 'x', permissions: ['root'] } })).status, 400);
    assert.equal((await api(t, 'POST', `/api/v1/instances/${b.id}/keys`, { key: ADMIN_KEY, body: { name: 'x', permissions: [] } })).status, 400);
    assert.equal((await api(t, 'POST', `/api/v1/instances/${randomUUID()}/keys`, { key: ADMIN_KEY, body: { name: 'x', permissions: ['admin'] } })).status, 404);
    // An instance's own admin adds keys to its instance, never to another.
    assert.equal((await api(t, 'POST', `/api/v1/instances/${b.id}/keys`, { key: b.key, body: { name: 'b-2', permissions: ['tokens.create'] } })).status, 201);
    assert.equal((await api(t, 'POST', `/api/v1/instances/${t.server.instanceId}/keys`, { key: b.key, body: { name: 'evil', permissions: ['admin'] } })).status, 404);
  });

  test("another instance's admin key is no platform admin: it sees only its instance and cannot create or delete", async () => {
    const b = await newInstance('scoped-b');
    assert.deepEqual(((await api(t, 'GET', '/api/v1/instances', { key: b.key })).body as unknown as { id: string }[]).map((i) => i.id), [b.id]);
    assert.equal((await api(t, 'GET', `/api/v1/instances/${b.id}`, { key: b.key })).status, 200);
    assert.equal((await api(t, 'GET', `/api/v1/instances/${t.server.instanceId}`, { key: b.key })).status, 404);
    assert.equal((await api(t, 'POST', '/api/v1/instances', { key: b.key, body: { name: 'c' } })).status, 403);
    assert.equal((await api(t, 'DELETE', `/api/v1/instances/${b.id}`, { key: b.key })).status, 403);
    assert.equal((await api(t, 'DELETE', `/api/v1/instances/${t.server.instanceId}`, { key: b.key })).status, 404);
    const nonAdmin = await createKey(t, 'default-reader', ['calls.read']);
    assert.equal((await api(t, 'POST', '/api/v1/instances', { key: nonAdmin, body: { name: 'c' } })).status, 403);
    assert.equal((await api(t, 'GET', '/api/v1/instances')).status, 401);
  });

  test('DELETE: 204 and every row of the instance goes (keys first of all), its files too; the default instance: 409; unknown: 404', async () => {
    const b = await newInstance('doomed');
    const store = t.server.store;
    await api(t, 'POST', '/api/v1/tokens', { key: b.key, body: { identity: 'doomed-user', extension: '1001' } });
    await api(t, 'POST', '/api/v1/queues', { key: b.key, body: { number: '600', name: 'Q', strategy: 'ring-all', members: ['1001'] } });
    const trunk = await api(t, 'POST', '/api/v1/trunks', { key: b.key, body: { name: 'carrier', host: 'sip.example.com', password: 'pw' } });
    await api(t, 'POST', '/api/v1/numbers', { key: b.key, body: { number: '+15550009999', destination: '1001', destination_type: 'extension', trunk_id: trunk.body.id } });
    await api(t, 'POST', '/api/v1/bots', { key: b.key, body: { name: 'doomed-bot' } });
    await api(t, 'POST', `/v1/instances/${b.id}/channels/voice`, { key: b.key, body: { openai_api_key: 'sk-x' } });
    await api(t, 'POST', `/v1/instances/${b.id}/agents`, { key: b.key, body: { key: 'doomed', name: 'D', provider: 'local' } });
    const user = (await store.users.byIdentity(b.id, 'doomed-user'))!;
    const callId = store.ids.next();
    await store.calls.insert({ id: callId, instanceId: b.id, fromUserId: user.id, toUserId: null, fromNumber: '1001', toNumber: '600', direction: 'internal', startedAt: new Date() });
    const recording = join(t.dataDir, `doomed-${callId}.rec`);
    writeFileSync(recording, 'frames');
    await store.calls.setRecordingPath(callId, recording);
    await store.journeys.append({ id: store.ids.next(), call_id: callId, time: new Date().toISOString(), action: 'Dial', from_number: '1001', to_number: '600', duration: 0, status: 'ok' });

    assert.equal((await api(t, 'DELETE', `/api/v1/instances/${b.id}`, { key: ADMIN_KEY })).status, 409, 'a call is in progress');
    await store.calls.markEnded(callId, { disposition: 'ANSWERED', endReason: 'hangup', endedAt: new Date(), duration: 1, talkTime: 1 });
    for (const table of ['api_keys', 'users', 'calls', 'queues', 'trunks', 'phone_numbers', 'bots', 'voice_channels', 'agents']) assert.ok((await rowsOf(b.id))[table], `${table} had rows`);

    assert.equal((await api(t, 'DELETE', `/api/v1/instances/${b.id}`, { key: ADMIN_KEY })).status, 204);
    assert.deepEqual(await rowsOf(b.id), {}, 'no row of the instance is left');
    assert.deepEqual(await store.journeys.steps(callId), []);
    assert.equal(existsSync(recording), false, 'its recording is gone');
    assert.equal((await api(t, 'GET', '/api/v1/trunks', { key: b.key })).status, 401, 'its keys no longer work');
    assert.equal((await api(t, 'GET', `/api/v1/instances/${b.id}`, { key: ADMIN_KEY })).status, 404);
    assert.equal((await api(t, 'DELETE', `/api/v1/instances/${b.id}`, { key: ADMIN_KEY })).status, 404);
    const def = await api(t, 'DELETE', `/api/v1/instances/${t.server.instanceId}`, { key: ADMIN_KEY });
    assert.deepEqual([def.status, def.body.code], [409, 'conflict']);
  });
});

describe('isolation: a key of instance B against instance A (the default) objects', () => {
  let b: { id: string; key: string };
  const A = ADMIN_KEY;
  const asB = (method: string, path: string, body?: unknown) => api(t, method, path, { key: b.key, body });
  const v1AsB = (method: string, path: string, body?: unknown) => api(t, method, path, { headers: { authorization: `Bearer ${b.key}` }, body });
  let aCall: string;
  let aTrunk: string;
  let aBot: string;
  let aChannel: string;
  /** A's agent call on aCall: seed 004's id and the provider's. */
  const aAgentCall = { serviceId: randomUUID(), providerCallId: `CA${randomUUID().replace(/-/g, '')}` };
  before(async () => {
    b = await newInstance('isolated-b');
    const store = t.server.store;
    const alice = await api(t, 'POST', '/api/v1/tokens', { key: A, body: { identity: 'iso-alice', extension: '7001' } });
    aCall = store.ids.next();
    await store.calls.insert({ id: aCall, instanceId: t.server.instanceId, fromUserId: String(alice.body.user_id), toUserId: null, fromNumber: '7001', toNumber: '7002', direction: 'internal', startedAt: new Date() });
    const recording = join(t.dataDir, `iso-${aCall}.rec`);
    writeFileSync(recording, '');
    await store.calls.setRecordingPath(aCall, recording);
    await store.calls.markEnded(aCall, { disposition: 'ANSWERED', endReason: 'hangup', endedAt: new Date(), duration: 3, talkTime: 3 });
    const { serviceId, providerCallId } = aAgentCall;
    await store.agentCalls.insert({ callId: aCall, serviceId, instanceId: t.server.instanceId, agentKey: 'akylai', phone: '7001', direction: 'inbound', status: 'completed', providerCallId, createdAt: new Date() });
    await store.agentCalls.addTurn(aCall, { role: 'agent', text: 'Hello from A', at: new Date().toISOString() });
    assert.equal((await api(t, 'POST', '/api/v1/queues', { key: A, body: { number: '7600', name: 'A queue', strategy: 'ring-all', members: ['7001'] } })).status, 201);
    await store.routing.insertIvr({ id: store.ids.next(), instanceId: t.server.instanceId, number: '7700', name: 'A menu', options: { '1': '7001' }, promptPath: join(t.dataDir, 'none.wav') });
    aTrunk = String((await api(t, 'POST', '/api/v1/trunks', { key: A, body: { name: 'iso-carrier', host: 'sip.example.com' } })).body.id);
    assert.equal((await api(t, 'POST', '/api/v1/numbers', { key: A, body: { number: '+15551110000', destination: '7001', destination_type: 'extension' } })).status, 201);
    const bot = await api(t, 'POST', '/api/v1/bots', { key: A, body: { name: 'iso-bot' } });
    aBot = String(bot.body.id);
    const channel = await api(t, 'POST', '/api/v1/channels', { key: A, body: { recipients: [String(alice.body.user_id), aBot] } });
    aChannel = String(channel.body.id);
    assert.equal((await api(t, 'POST', `/v1/instances/${t.server.instanceId}/channels/voice`, { key: A, body: { phone_number: '+15551110001', openai_api_key: 'sk-a' } })).status, 200);
  });

  test('calls, history, counts, stats, journeys, agent transcripts and recordings', async () => {
    assert.equal((await api(t, 'GET', `/api/v1/calls/${aCall}`, { key: A })).status, 200, 'A sees its own call');
    assert.equal((await asB('GET', `/api/v1/calls/${aCall}`)).status, 404);
    assert.equal((await asB('GET', `/api/v1/calls/${aCall}/journey`)).status, 404);
    assert.equal((await api(t, 'GET', `/api/v1/calls/${aCall}/transcript`, { key: A })).status, 200, "A sees its agent call's transcript");
    assert.equal((await asB('GET', `/api/v1/calls/${aCall}/transcript`)).status, 404);
    assert.equal((await asB('GET', `/api/v1/calls/${aCall}/recording`)).status, 404);
    assert.equal((await asB('DELETE', `/api/v1/calls/${aCall}/recording`)).status, 404);
    assert.ok((await t.server.store.calls.get(t.server.instanceId, aCall))?.recording_path, "A's recording is untouched");
    assert.ok(((await api(t, 'GET', '/api/v1/calls', { key: A })).body.total as number) >= 1);
    assert.deepEqual((await asB('GET', '/api/v1/calls')).body, { data: [], total: 0, page: 1, pages: 0 });
    assert.deepEqual((await asB('GET', `/api/v1/calls?search=${aCall}`)).body.total, 0);
    assert.deepEqual((await asB('GET', '/api/v1/calls/count')).body, { count: 0 });
    assert.equal((await asB('GET', '/api/v1/calls/stats')).body.total_calls, 0);
  });

  test('live legs, hang-up, transfer and click-to-call; a widget of B cannot reach A\'s extensions', async () => {
    const alice = await widgetSocket(t, 'iso-live-alice', { extension: '7101' });
    const bob = await widgetSocket(t, 'iso-live-bob', { extension: '7102' });
    sockets.push(alice, bob);
    const ringing = new Promise((r) => alice.once('call:ringing', r));
    assert.equal((await ackRequest(alice, 'call:dial', { destination: '7102' })).ok, true);
    await ringing;
    const legs = (await api(t, 'GET', '/api/v1/calls/live', { key: A })).body as unknown as { channel_id: string }[];
    assert.equal(legs.length, 2);
    assert.deepEqual((await asB('GET', '/api/v1/calls/live')).body, []);
    assert.equal((await asB('POST', '/api/v1/calls/hangup-channel', { channel_id: legs[0]!.channel_id })).status, 404);
    assert.equal((await asB('POST', '/api/v1/calls/transfer', { call_id: legs[0]!.channel_id, destination: '7001', type: 'blind' })).status, 404);
    assert.equal((await asB('POST', '/api/v1/calls/transfer/complete', { call_id: legs[0]!.channel_id })).status, 404);
    assert.equal(((await api(t, 'GET', '/api/v1/calls/live', { key: A })).body as unknown as unknown[]).length, 2, "A's call goes on");
    const clickToCall = await asB('POST', '/api/v1/calls/click-to-call', { from: '7101', to: '7102' });
    assert.equal(clickToCall.status, 404, "B's click-to-call does not find A's extensions");

    const token = await asB('POST', '/api/v1/tokens', { identity: 'iso-live-alice', extension: '7101' });
    assert.equal(token.status, 201);
    const aliceOfA = await t.server.store.users.byIdentity(t.server.instanceId, 'iso-live-alice');
    assert.notEqual(token.body.user_id, aliceOfA!.id, 'the same identity in B is another user');
    const intruder = io(t.url, { auth: { token: token.body.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(intruder);
    await new Promise((resolve) => intruder.once('session:ready', resolve));
    let bobRang = false;
    bob.on('call:incoming', () => (bobRang = true));
    const dial = await ackRequest(intruder, 'call:dial', { destination: '7102' });
    assert.equal(dial.ok, false, "B's widget cannot dial A's extension");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(bobRang, false);
    alice.disconnect();
  });

  test('queues, IVR menus, trunks, numbers, bots and channels', async () => {
    assert.deepEqual((await asB('GET', '/api/v1/queues')).body, []);
    assert.deepEqual((await asB('GET', '/api/v1/ivr')).body, []);
    assert.equal((await asB('DELETE', '/api/v1/queues/7600')).status, 404);
    assert.equal((await asB('DELETE', '/api/v1/ivr/7700')).status, 404);
    assert.ok(await t.server.store.routing.queue(t.server.instanceId, '7600'), "A's queue is still there");
    assert.equal((await asB('POST', '/api/v1/queues', { number: '7600', name: 'B queue', strategy: 'ring-all', members: ['1'] })).status, 201, "A's numbers do not block B");

    assert.deepEqual((await asB('GET', '/api/v1/trunks')).body, []);
    assert.equal((await asB('GET', `/api/v1/trunks/${aTrunk}`)).status, 404);
    assert.equal((await asB('PATCH', `/api/v1/trunks/${aTrunk}`, { host: 'evil.example.com' })).status, 404);
    assert.equal((await asB('DELETE', `/api/v1/trunks/${aTrunk}`)).status, 404);
    assert.equal((await t.server.store.trunks.get(t.server.instanceId, aTrunk))?.host, 'sip.example.com');
    assert.deepEqual((await asB('GET', '/api/v1/numbers')).body, []);
    assert.equal((await asB('DELETE', '/api/v1/numbers/+15551110000')).status, 404);
    assert.equal((await asB('POST', '/api/v1/numbers', { number: '+15552220000', destination: '1', destination_type: 'extension', trunk_id: aTrunk })).status, 404);

    assert.equal((await asB('DELETE', `/api/v1/bots/${aBot}`)).status, 404);
    const bBot = await asB('POST', '/api/v1/bots', { name: 'b-bot' });
    const asBBot = { headers: { authorization: `Bot ${String(bBot.body.token)}` } };
    assert.equal((await api(t, 'GET', `/api/v1/channels/${aChannel}/call`, asBBot)).status, 404);
    assert.equal((await api(t, 'POST', `/api/v1/channels/${aChannel}/call/ring`, { ...asBBot, body: {} })).status, 404);
    const aUsers = (await t.server.store.channels.get(t.server.instanceId, aChannel))!.recipients;
    assert.equal((await asB('POST', '/api/v1/channels', { recipients: aUsers })).status, 400, "A's users are no recipients for B");
  });

  test("the voice channel, agents, agent calls (seed 004, the call-completed webhook under B's secret) and instances", async () => {
    const a = t.server.instanceId;
    for (const [method, path, body] of [
      ['GET', `/v1/instances/${a}/channels/voice`],
      ['POST', `/v1/instances/${a}/channels/voice`, { phone_number: '+1999' }],
      ['DELETE', `/v1/instances/${a}/channels/voice`],
      ['GET', `/v1/instances/${a}/channels/voice/calls`],
      ['GET', `/v1/instances/${a}/agents`],
      ['POST', `/v1/instances/${a}/agents`, { key: 'evil', name: 'Evil', provider: 'local' }],
      ['GET', `/v1/instances/${a}/agents/akylai`],
      ['DELETE', `/v1/instances/${a}/agents/akylai`],
    ] as [string, string, unknown?][]) {
      const res = await v1AsB(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(res.body, { detail: 'Instance not found' });
    }
    assert.equal((await t.server.store.voiceChannels.get(a))?.phoneNumber, '+15551110001');
    assert.ok(await t.server.store.agents.byKey(a, 'akylai'));
    assert.deepEqual((await v1AsB('GET', '/v1/agents')).body, [], "B's agents: none, not A's");
    assert.equal((await v1AsB('GET', `/v1/calls/${aAgentCall.serviceId}`)).status, 404, "A's agent call");
    const foreignAgent = await v1AsB('POST', '/v1/calls', { phone: '7001', agent: 'akylai' });
    assert.equal(foreignAgent.status, 422);
    assert.deepEqual((foreignAgent.body.detail as { loc: string[] }[])[0]!.loc, ['body', 'agent'], "A's agent is no agent of B");
    assert.deepEqual((await v1AsB('GET', `/v1/instances/${b.id}/channels/voice`)).body.status, 'not_configured');
    // B's own webhook secret does not sign a result for A's call.
    const bSecret = 'whsec-of-instance-b';
    assert.equal((await v1AsB('POST', `/v1/instances/${b.id}/channels/voice`, { provider: 'pipecat', webhook_secret: bSecret })).status, 200);
    const raw = JSON.stringify({ event_type: 'call.completed', provider_call_id: aAgentCall.providerCallId, status: 'completed', transcript: 'agent: forged by B', duration: 1 });
    const forged = await fetch(`${t.url}/v1/webhooks/call-completed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-astral-signature': `sha256=${createHmac('sha256', bSecret).update(raw).digest('hex')}` },
      body: raw,
    });
    assert.equal(forged.status, 401);
    assert.equal((await t.server.store.agentCalls.byCallId(aCall))?.result_transcript, null, "A's call keeps no result of B's");
    assert.equal((await asB('GET', `/api/v1/instances/${a}`)).status, 404);
  });
});

describe('the instances CLI', () => {
  const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
  const cli = (...args: string[]) => {
    // The server's database: its data dir's file, or its PostgreSQL database (ASTRAL_TEST_DIALECT=postgres).
    const database = postgresDatabaseOf(t.dataDir);
    const env = { ...process.env, ASTRAL_DATA_DIR: t.dataDir, ...(database ? { ASTRAL_DATABASE_URL: database } : {}) };
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };

  test('create, list, keys create (shown once, works), delete; the default cannot be deleted; bad input is refused', async () => {
    const created = cli('instances', 'create', '--name', 'From CLI');
    assert.equal(created.code, 0, created.err);
    const id = /created instance ([0-9a-f-]{36})/.exec(created.out)?.[1];
    assert.ok(id, created.out);
    const listed = cli('instances', 'list');
    assert.match(listed.out, new RegExp(`^${t.server.instanceId}\\tdefault\\t\\S+\\tdefault$`, 'm'));
    assert.match(listed.out, new RegExp(`^${id}\\tFrom CLI\\t`, 'm'));
    const keyed = cli('instances', 'keys', 'create', id, '--name', 'cli-admin', '--permissions', 'admin');
    assert.equal(keyed.code, 0, keyed.err);
    const key = /key \(shown once, store it now\): (ak_[A-Za-z0-9_-]+)/.exec(keyed.out)?.[1];
    assert.ok(key, keyed.out);
    assert.deepEqual(((await api(t, 'GET', '/api/v1/instances', { key })).body as unknown as { id: string }[]).map((i) => i.id), [id]);
    assert.equal(cli('instances', 'keys', 'create', id, '--name', 'x', '--permissions', 'root').code, 1);
    assert.match(cli('instances', 'delete', t.server.instanceId).err, /default instance cannot be deleted/);
    assert.match(cli('instances', 'delete', randomUUID()).err, /no instance/);
    assert.match(cli('instances', 'create').err, /--name is required/);
    assert.equal(cli('instances', 'bogus').code, 2);
    const deleted = cli('instances', 'delete', id);
    assert.equal(deleted.code, 0, deleted.err);
    assert.equal((await api(t, 'GET', '/api/v1/instances', { key })).status, 401);
    assert.doesNotMatch(cli('instances', 'list').out, new RegExp(id));
  });
});
