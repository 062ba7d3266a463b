// REST contract of bots, channels and the channel voice endpoints (rtc-regions, call eligibility, region, ring, stop-ringing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { auth, type channelKit, useChannelServer, type Principal } from './channel-helpers.js';
import { ADMIN_KEY, api, createKey, type TestServer } from './helpers.js';

let t: TestServer;
let kit: ReturnType<typeof channelKit>;
useChannelServer((server, k) => ((t = server), (kit = k)));

const UNKNOWN_SNOWFLAKE = '900000000000000001';
type Res = Awaited<ReturnType<typeof api>>;
const expectError = (res: Res, status: number, code: string, message?: RegExp, what = '') => {
  assert.equal(res.status, status, `${what} → ${JSON.stringify(res.body)}`);
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'message'], what);
  assert.equal(res.body.code, code, what);
  if (message) assert.match(res.body.message as string, message, what);
};

describe('bots admin API', () => {
  test('an admin creates a bot whose token works until the bot is deleted', async () => {
    const res = await api(t, 'POST', '/api/v1/bots', { key: ADMIN_KEY, body: { name: 'Helper Bot' } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['id', 'name', 'token']);
    assert.equal(res.body.name, 'Helper Bot');
    assert.match(res.body.id as string, /^[0-9]{1,20}$/);
    assert.match(res.body.token as string, /^bt_.{20,}$/);
    const bot = res.body as { id: string; token: string };
    const a = await kit.user();
    const channel = await api(t, 'POST', '/api/v1/channels', { headers: auth.bot(bot.token), body: { recipients: [bot.id, a.id] } });
    assert.equal(channel.status, 201, 'the fresh token authenticates');
    const regions = `/api/v1/channels/${channel.body.id as string}/rtc-regions`;
    assert.equal((await api(t, 'GET', regions, { headers: auth.bot(bot.token) })).status, 200);

    assert.equal((await api(t, 'DELETE', `/api/v1/bots/${bot.id}`, { key: ADMIN_KEY })).status, 204);
    expectError(await api(t, 'GET', regions, { headers: auth.bot(bot.token) }), 401, 'unauthorized');
    expectError(
      await api(t, 'POST', '/api/v1/channels', { headers: auth.bot(bot.token), body: { recipients: [bot.id, a.id] } }),
      401,
      'unauthorized',
    );
    const socket = io(t.url, { auth: { token: bot.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    const refused = await new Promise<{ data?: { code: string } }>((resolve) => socket.once('connect_error', (e) => resolve(e as never)));
    socket.disconnect();
    assert.equal(refused.data?.code, 'unauthorized');
    expectError(await api(t, 'DELETE', `/api/v1/bots/${bot.id}`, { key: ADMIN_KEY }), 404, 'not_found', undefined, 'deleting twice');
  });

  test('only an admin API key may create or delete bots', async () => {
    const limited = await createKey(t, 'tokens-only', ['tokens.create']);
    const { id } = await kit.bot();
    expectError(await api(t, 'POST', '/api/v1/bots', { key: limited, body: { name: 'x' } }), 403, 'forbidden');
    expectError(await api(t, 'DELETE', `/api/v1/bots/${id}`, { key: limited }), 403, 'forbidden');
    expectError(await api(t, 'POST', '/api/v1/bots', { body: { name: 'x' } }), 401, 'unauthorized');
    expectError(await api(t, 'DELETE', `/api/v1/bots/${id}`), 401, 'unauthorized');
    expectError(await api(t, 'POST', '/api/v1/bots', { key: 'ak_not_a_real_key_000000', body: { name: 'x' } }), 401, 'unauthorized');
  });

  test('rejects malformed bodies and ids with 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /name/],
      [{ name: '' }, /name/],
      [{ name: 'x'.repeat(81) }, /name/],
      [{ name: 42 }, /name/],
      [{ name: 'ok', surprise: true }, /surprise|additional/],
    ];
    for (const [body, field] of cases) {
      expectError(await api(t, 'POST', '/api/v1/bots', { key: ADMIN_KEY, body }), 400, 'bad_request', field, JSON.stringify(body));
    }
    expectError(await api(t, 'DELETE', '/api/v1/bots/not-a-snowflake', { key: ADMIN_KEY }), 400, 'bad_request', /id/);
  });
});

describe('POST /api/v1/channels', () => {
  test('an API key creates a dm for two recipients and a named group for 3..10', async () => {
    const [a, b, ...rest] = await kit.users(10);
    const bot = await kit.bot();
    const dm = await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [b!.id, a!.id] } });
    assert.equal(dm.status, 201);
    assert.match(dm.body.id as string, /^[0-9]{1,20}$/);
    assert.deepEqual({ ...dm.body, recipients: (dm.body.recipients as string[]).sort() }, {
      id: dm.body.id,
      type: 'dm',
      name: null,
      recipients: [a!.id, b!.id].sort(),
      rtc_region: null,
    });
    const group = await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [a!.id, b!.id, bot.id], name: 'Team' } });
    assert.equal(group.status, 201);
    assert.equal(group.body.type, 'group');
    assert.equal(group.body.name, 'Team');
    assert.equal(group.body.rtc_region, null);
    assert.deepEqual((group.body.recipients as string[]).sort(), [a!.id, b!.id, bot.id].sort());
    assert.notEqual(group.body.id, dm.body.id);
    const ten = [a!, b!, ...rest].map((u) => u.id);
    const full = await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: ten } });
    assert.equal(full.status, 201);
    assert.equal(full.body.type, 'group');
    assert.equal((full.body.recipients as string[]).length, 10);
  });

  test('a bot or a widget user may create a channel only when it is a recipient', async () => {
    const [a, b] = await kit.users(2);
    const bot = await kit.bot();
    const byBot = await api(t, 'POST', '/api/v1/channels', { headers: auth.bot(bot.token), body: { recipients: [bot.id, a!.id] } });
    assert.equal(byBot.status, 201);
    assert.equal(byBot.body.type, 'dm');
    const byUser = await api(t, 'POST', '/api/v1/channels', { headers: auth.bearer(a!.token), body: { recipients: [a!.id, b!.id, bot.id] } });
    assert.equal(byUser.status, 201);
    assert.equal(byUser.body.type, 'group');
    expectError(await api(t, 'POST', '/api/v1/channels', { headers: auth.bot(bot.token), body: { recipients: [a!.id, b!.id] } }), 403, 'forbidden');
    expectError(await api(t, 'POST', '/api/v1/channels', { headers: auth.bearer(a!.token), body: { recipients: [b!.id, bot.id] } }), 403, 'forbidden');
  });

  test('an API key needs channels.manage (or admin) to create channels', async () => {
    const [a, b] = await kit.users(2);
    const body = { recipients: [a!.id, b!.id] };
    const minter = await createKey(t, 'minter-only', ['tokens.create']);
    expectError(await api(t, 'POST', '/api/v1/channels', { key: minter, body }), 403, 'forbidden', /channels\.manage/);
    const manager = await createKey(t, 'channel-manager', ['channels.manage']);
    assert.equal((await api(t, 'POST', '/api/v1/channels', { key: manager, body })).status, 201);
  });

  test('without a valid API key or token the request is refused with 401', async () => {
    const [a, b] = await kit.users(2);
    const body = { recipients: [a!.id, b!.id] };
    expectError(await api(t, 'POST', '/api/v1/channels', { body }), 401, 'unauthorized');
    expectError(await api(t, 'POST', '/api/v1/channels', { key: 'ak_not_a_real_key_000000', body }), 401, 'unauthorized');
    expectError(await api(t, 'POST', '/api/v1/channels', { headers: auth.bearer('not.a.jwt'), body }), 401, 'unauthorized');
    expectError(await api(t, 'POST', '/api/v1/channels', { headers: auth.bot('bt_forged'), body }), 401, 'unauthorized');
  });

  test('rejects bad recipient lists with 400 naming recipients', async () => {
    const us = await kit.users(11);
    const ids = us.map((u) => u.id);
    const revoked = await kit.bot();
    assert.equal((await api(t, 'DELETE', `/api/v1/bots/${revoked.id}`, { key: ADMIN_KEY })).status, 204);
    const cases: [string, unknown][] = [
      ['missing', {}],
      ['empty', { recipients: [] }],
      ['one', { recipients: [ids[0]] }],
      ['eleven', { recipients: ids }],
      ['duplicate', { recipients: [ids[0], ids[1], ids[0]] }],
      ['non-snowflake', { recipients: [ids[0], 'alice'] }],
      ['numbers', { recipients: [1, 2] }],
      ['unknown id', { recipients: [ids[0], UNKNOWN_SNOWFLAKE] }],
      ['revoked bot', { recipients: [ids[0], revoked.id] }],
    ];
    for (const [what, body] of cases) {
      expectError(await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body }), 400, 'bad_request', /recipients/, what);
    }
    expectError(await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [ids[0], ids[1]], name: '' } }), 400, 'bad_request', /name/);
    expectError(
      await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [ids[0], ids[1]], topic: 'x' } }),
      400,
      'bad_request',
      /topic|additional/,
    );
  });
});

/** A channel of a bot and two users, with their credentials. */
async function voiceChannel(): Promise<{ id: string; bot: Principal & { name: string }; a: Principal; b: Principal }> {
  const [a, b] = await kit.users(2);
  const bot = await kit.bot();
  return { id: await kit.channel([bot.id, a!.id, b!.id]), bot, a: a!, b: b! };
}

const endpoints: [string, string, unknown][] = [
  ['GET', 'rtc-regions', undefined],
  ['GET', 'call', undefined],
  ['PATCH', 'call', { region: null }],
  ['POST', 'call/ring', {}],
  ['POST', 'call/stop-ringing', {}],
];

describe('voice endpoints: authentication and membership', () => {
  test('401 without a bot or widget token (an API key is not enough)', async () => {
    const ch = await voiceChannel();
    for (const [method, path, body] of endpoints) {
      const url = `/api/v1/channels/${ch.id}/${path}`;
      const what = `${method} ${path}`;
      expectError(await api(t, method, url, { body }), 401, 'unauthorized', undefined, `${what} no header`);
      expectError(await api(t, method, url, { key: ADMIN_KEY, body }), 401, 'unauthorized', undefined, `${what} API key`);
      expectError(await api(t, method, url, { body, headers: auth.bot('bt_forged') }), 401, 'unauthorized', undefined, `${what} forged bot`);
      expectError(await api(t, method, url, { body, headers: auth.bearer('x.y.z') }), 401, 'unauthorized', undefined, `${what} bad jwt`);
      expectError(await api(t, method, url, { body, headers: auth.bot(ch.a.token) }), 401, 'unauthorized', undefined, `${what} jwt as Bot`);
      expectError(await api(t, method, url, { body, headers: auth.bearer(ch.bot.token) }), 401, 'unauthorized', undefined, `${what} bot as Bearer`);
      expectError(await api(t, method, url, { body, headers: { authorization: ch.bot.token } }), 401, 'unauthorized', undefined, `${what} no scheme`);
    }
  });

  test('403 for a bot or user that is not a recipient', async () => {
    const ch = await voiceChannel();
    const outsider = await kit.user();
    const outsiderBot = await kit.bot();
    for (const [method, path, body] of endpoints) {
      const url = `/api/v1/channels/${ch.id}/${path}`;
      expectError(await api(t, method, url, { body, headers: auth.bearer(outsider.token) }), 403, 'forbidden', undefined, `${method} ${path} user`);
      expectError(await api(t, method, url, { body, headers: auth.bot(outsiderBot.token) }), 403, 'forbidden', undefined, `${method} ${path} bot`);
    }
  });

  test('404 for an unknown channel, 400 for a channel id that is not a snowflake', async () => {
    const { bot } = await voiceChannel();
    for (const [method, path, body] of endpoints) {
      const what = `${method} ${path}`;
      expectError(await api(t, method, `/api/v1/channels/${UNKNOWN_SNOWFLAKE}/${path}`, { body, headers: auth.bot(bot.token) }), 404, 'not_found', undefined, what);
      expectError(await api(t, method, `/api/v1/channels/general/${path}`, { body, headers: auth.bot(bot.token) }), 400, 'bad_request', /channel_id/, what);
    }
  });
});

describe('GET rtc-regions', () => {
  test('lists the configured regions as {id, name, emoji} only, for bots and users', async () => {
    const ch = await voiceChannel();
    const expected = [
      { id: 'eu-central', name: 'EU Central', emoji: '🇩🇪' },
      { id: 'us-east', name: 'US East', emoji: '🇺🇸' },
    ];
    for (const headers of [auth.bot(ch.bot.token), auth.bearer(ch.a.token)]) {
      const res = await api(t, 'GET', `/api/v1/channels/${ch.id}/rtc-regions`, { headers });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, expected);
    }
  });
});

describe('GET call (eligibility)', () => {
  const eligibility = async (channelId: string, headers: Record<string, string>) => {
    const res = await api(t, 'GET', `/api/v1/channels/${channelId}/call`, { headers });
    assert.equal(res.status, 200);
    return res.body;
  };

  test('ringable only when another recipient has a widget connected; silent when all of those are in dnd', async () => {
    const ch = await voiceChannel();
    const asBot = auth.bot(ch.bot.token);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: false, silent: false }, 'nobody connected');
    await kit.connect(ch.bot.token);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: false, silent: false }, 'a bot socket is not ringable');
    const a1 = await kit.connect(ch.a.token);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: false });
    assert.deepEqual(await eligibility(ch.id, auth.bearer(ch.a.token)), { ringable: false, silent: false }, 'A cannot ring itself');
    assert.equal((await a1.req('presence:update', { dnd: true })).ok, true);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: true });
    const a2 = await kit.connect(ch.a.token);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: false }, "one of A's sockets is not in dnd");
    assert.equal((await a2.req('presence:update', { dnd: true })).ok, true);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: true });
    const b = await kit.connect(ch.b.token);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: false }, 'B rings audibly');
    assert.deepEqual(await eligibility(ch.id, auth.bearer(ch.b.token)), { ringable: true, silent: true }, 'for B, only A (dnd) is ringable');
    assert.equal((await b.req('presence:update', { dnd: true })).ok, true);
    assert.deepEqual(await eligibility(ch.id, asBot), { ringable: true, silent: true });
  });

  test('a user already in a call is not ringable', async () => {
    const ch = await voiceChannel();
    const a = await kit.connect(ch.a.token);
    assert.deepEqual(await eligibility(ch.id, auth.bot(ch.bot.token)), { ringable: true, silent: false });
    const elsewhere = await kit.channel([ch.a.id, ch.b.id]);
    const join = await a.req('voice:state', { channel_id: elsewhere });
    assert.equal(join.ok, true, JSON.stringify(join));
    assert.deepEqual(await eligibility(ch.id, auth.bot(ch.bot.token)), { ringable: false, silent: false });
    assert.equal((await a.req('voice:state', { channel_id: null })).ok, true);
    assert.deepEqual(await eligibility(ch.id, auth.bot(ch.bot.token)), { ringable: true, silent: false });
  });
});

describe('PATCH call (region)', () => {
  test('sets a known region, which the next call uses; null returns to automatic choice', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    await kit.connect(ch.a.token);
    const url = `/api/v1/channels/${ch.id}/call`;
    const res = await api(t, 'PATCH', url, { headers: auth.bot(ch.bot.token), body: { region: 'us-east' } });
    assert.equal(res.status, 204);
    assert.deepEqual(res.body, {});
    assert.equal((await api(t, 'POST', `${url}/ring`, { headers: auth.bot(ch.bot.token), body: {} })).status, 204);
    await bot.seen('CALL_CREATE');
    assert.equal(bot.events[0]!.data.region, 'us-east');
    assert.equal((await api(t, 'POST', `${url}/stop-ringing`, { headers: auth.bot(ch.bot.token), body: { recipients: [ch.a.id] } })).status, 204);
    await bot.seen('CALL_DELETE');
    assert.equal((await api(t, 'PATCH', url, { headers: auth.bearer(ch.b.token), body: { region: null } })).status, 204);
    assert.equal((await api(t, 'POST', `${url}/ring`, { headers: auth.bot(ch.bot.token), body: {} })).status, 204);
    await bot.seen('CALL_CREATE', 2);
    assert.equal(bot.events.filter((e) => e.event === 'CALL_CREATE')[1]!.data.region, 'eu-central');
  });

  test('an unknown region is refused naming the known ones; malformed bodies are 400', async () => {
    const ch = await voiceChannel();
    const url = `/api/v1/channels/${ch.id}/call`;
    const headers = auth.bot(ch.bot.token);
    const unknown = await api(t, 'PATCH', url, { headers, body: { region: 'mars-north' } });
    expectError(unknown, 400, 'bad_request', /mars-north/);
    assert.match(unknown.body.message as string, /eu-central/);
    assert.match(unknown.body.message as string, /us-east/);
    const cases: [unknown, RegExp][] = [
      [{}, /region/],
      [{ region: 'us-east', extra: 1 }, /extra|additional/],
      [{ region: 5 }, /region/],
      [{ region: 'US East' }, /region/],
      ['[]', /body/],
    ];
    for (const [body, field] of cases) expectError(await api(t, 'PATCH', url, { headers, body }), 400, 'bad_request', field, JSON.stringify(body));
  });
});

describe('POST call/ring and call/stop-ringing', () => {
  test('ring reaches every widget of the chosen recipients with the channel and caller', async () => {
    const ch = await voiceChannel();
    const [a1, a2, b] = [await kit.connect(ch.a.token), await kit.connect(ch.a.token), await kit.connect(ch.b.token)];
    assert.equal((await b.req('presence:update', { dnd: true })).ok, true);
    const url = `/api/v1/channels/${ch.id}/call/ring`;
    const res = await api(t, 'POST', url, { headers: auth.bot(ch.bot.token), body: { recipients: [ch.a.id] } });
    assert.equal(res.status, 204);
    await a1.until(() => a1.incoming.length === 1, 'call:incoming on A1');
    await a2.until(() => a2.incoming.length === 1, 'call:incoming on A2');
    const callId = a1.incoming[0]!.callId as string;
    assert.match(callId, /^[0-9]+$/);
    const from = { userId: ch.bot.id, identity: ch.bot.name, displayName: ch.bot.name, extension: null };
    assert.deepEqual(a1.incoming[0], { callId, channelId: ch.id, from });
    assert.deepEqual(a2.incoming[0], a1.incoming[0]);
    await b.barrier();
    assert.equal(b.incoming.length, 0, 'B was not asked for');
    assert.equal((await api(t, 'POST', url, { headers: auth.bot(ch.bot.token), body: { recipients: [ch.b.id] } })).status, 204);
    await b.until(() => b.incoming.length === 1, 'call:incoming on B');
    assert.deepEqual(b.incoming[0], { ...a1.incoming[0], silent: true }, 'same call; B is in dnd');
  });

  test('ring refuses recipients outside the channel and malformed bodies', async () => {
    const ch = await voiceChannel();
    const stranger = await kit.user();
    const a = await kit.connect(ch.a.token);
    const url = `/api/v1/channels/${ch.id}/call/ring`;
    const headers = auth.bot(ch.bot.token);
    expectError(await api(t, 'POST', url, { headers, body: { recipients: [ch.a.id, stranger.id] } }), 400, 'bad_request', new RegExp(stranger.id));
    const cases: [unknown, RegExp][] = [
      [{ recipients: [] }, /recipients/],
      [{ recipients: ch.a.id }, /recipients/],
      [{ recipients: ['alice'] }, /recipients/],
      [{ recipients: [ch.a.id, ch.a.id] }, /recipients/],
      [{ everyone: true }, /everyone|additional/],
      ['[1]', /body/],
    ];
    for (const [body, field] of cases) expectError(await api(t, 'POST', url, { headers, body }), 400, 'bad_request', field, JSON.stringify(body));
    await a.barrier();
    assert.equal(a.incoming.length, 0, 'refused rings ring nobody');
  });

  test('stop-ringing stops the requester by default, named recipients otherwise, and ends an empty call', async () => {
    const ch = await voiceChannel();
    const [bot, a, b] = [await kit.connect(ch.bot.token), await kit.connect(ch.a.token), await kit.connect(ch.b.token)];
    const base = `/api/v1/channels/${ch.id}/call`;
    assert.equal((await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bot(ch.bot.token), body: {} })).status, 204, 'no call: a no-op');
    await bot.barrier();
    assert.equal(bot.events.length, 0, `stopping nothing starts no call: ${JSON.stringify(bot.events)}`);
    assert.equal((await api(t, 'POST', `${base}/ring`, { headers: auth.bot(ch.bot.token), body: {} })).status, 204);
    await bot.seen('CALL_UPDATE');
    assert.deepEqual(bot.events[1]!.data.ringing, [ch.a.id, ch.b.id].sort());
    const callId = a.incoming[0]?.callId;

    assert.equal((await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bearer(ch.a.token), body: {} })).status, 204);
    await a.until(() => a.ended.length === 1, 'call:ended on A');
    assert.equal(a.ended[0]!.callId, callId);
    assert.equal(a.ended[0]!.reason, 'cancelled');
    await bot.seen('CALL_UPDATE', 2);
    assert.deepEqual(bot.events[2], { event: 'CALL_UPDATE', data: { channel_id: ch.id, region: 'eu-central', ringing: [ch.b.id] } });
    assert.equal(b.ended.length, 0, 'B still rings');

    const stranger = await kit.user();
    expectError(await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bot(ch.bot.token), body: { recipients: [stranger.id] } }), 400, 'bad_request', new RegExp(stranger.id));
    for (const body of [{ recipients: [] }, { recipients: ['x'] }, { who: [] }]) {
      expectError(await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bot(ch.bot.token), body }), 400, 'bad_request', undefined, JSON.stringify(body));
    }

    assert.equal((await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bot(ch.bot.token), body: { recipients: [ch.b.id] } })).status, 204);
    await b.until(() => b.ended.length === 1, 'call:ended on B');
    assert.equal(b.ended[0]!.reason, 'cancelled');
    await bot.seen('CALL_DELETE');
    assert.deepEqual(bot.events.slice(3), [{ event: 'CALL_DELETE', data: { channel_id: ch.id } }], 'nobody joined or rung: the call is over');
  });

  test('recipients is optional, so ring and stop-ringing accept a request without a body', async () => {
    const ch = await voiceChannel();
    const [bot, a] = [await kit.connect(ch.bot.token), await kit.connect(ch.a.token)];
    const base = `/api/v1/channels/${ch.id}/call`;
    const ring = await api(t, 'POST', `${base}/ring`, { headers: auth.bot(ch.bot.token) });
    assert.equal(ring.status, 204, JSON.stringify(ring.body));
    await a.until(() => a.incoming.length === 1, 'call:incoming on A');
    const stop = await api(t, 'POST', `${base}/stop-ringing`, { headers: auth.bearer(ch.a.token) });
    assert.equal(stop.status, 204, JSON.stringify(stop.body));
    await a.until(() => a.ended.length === 1, 'call:ended on A');
    await bot.seen('CALL_DELETE');
  });
});
