// Gateway dispatch events of channel calls (CALL_*, VOICE_STATE_UPDATE, VOICE_SERVER_UPDATE) as bots and widgets observe them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auth, type channelKit, useChannelServer, REGIONS, voiceState, type Client, type Principal } from './channel-helpers.js';
import { api, type TestServer } from './helpers.js';

let t: TestServer;
let kit: ReturnType<typeof channelKit>;
useChannelServer((server, k) => ((t = server), (kit = k)));

const EU = 'eu-central';
const US = 'us-east';
const endpointOf = (region: string) => REGIONS.find((r) => r.id === region)!.endpoint;

/** A channel of a bot and two users, with their credentials. */
async function voiceChannel(): Promise<{ id: string; bot: Principal; a: Principal; b: Principal }> {
  const [a, b] = await kit.users(2);
  const bot = await kit.bot();
  return { id: await kit.channel([bot.id, a!.id, b!.id]), bot, a: a!, b: b! };
}

const post = (path: string, token: string, body: unknown = {}) => api(t, 'POST', path, { headers: auth.bot(token), body });

/** Waits for as many dispatches as expected, lets anything still in flight arrive, then compares the whole log. */
async function expectLog(client: Client, expected: unknown[], label: string): Promise<void> {
  await client.until(() => client.events.length >= expected.length, `${expected.length} dispatches on ${label}`);
  await client.barrier();
  assert.deepEqual(client.events, expected, label);
}

describe('a channel call as a bot observes it', () => {
  test('ring → answer → stop-ringing → leave dispatches CALL_CREATE, CALL_UPDATEs, VOICE_STATE_UPDATEs, CALL_DELETE in order', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    const a = await kit.connect(ch.a.token);
    const b = await kit.connect(ch.b.token);
    const outsider = await kit.connect((await kit.user('outsider')).token);
    const outsiderBot = await kit.connect((await kit.bot('outsider-bot')).token);
    const ringing = (ids: string[]) => ({ event: 'CALL_UPDATE', data: { channel_id: ch.id, region: EU, ringing: [...ids].sort() } });

    assert.equal((await post(`/api/v1/channels/${ch.id}/call/ring`, ch.bot.token, { recipients: [ch.a.id, ch.b.id] })).status, 204);
    await a.until(() => a.incoming.length === 1, 'call:incoming on A');
    await b.until(() => b.incoming.length === 1, 'call:incoming on B');
    const callId = a.incoming[0]!.callId as string;
    assert.equal(b.incoming[0]!.callId, callId);
    await bot.seen('CALL_UPDATE');
    assert.deepEqual(bot.events, [
      { event: 'CALL_CREATE', data: { channel_id: ch.id, region: EU, ringing: [], voice_states: [] } },
      ringing([ch.a.id, ch.b.id]),
    ]);

    const answer = await a.req('call:answer', { callId });
    assert.equal(answer.ok, true, JSON.stringify(answer));
    const joinedA = voiceState(ch.id, ch.a.id, a.sessionId);
    await bot.seen('VOICE_STATE_UPDATE');
    await bot.barrier();
    // A answered: its voice state, then the ring list without A.
    assert.deepEqual(bot.events.slice(2), [joinedA, ringing([ch.b.id])], 'after A answers');

    assert.equal((await post(`/api/v1/channels/${ch.id}/call/stop-ringing`, ch.bot.token, { recipients: [ch.b.id] })).status, 204);
    await b.until(() => b.ended.length === 1, 'call:ended on B');
    assert.deepEqual([b.ended[0]!.callId, b.ended[0]!.reason], [callId, 'cancelled']);

    const leave = await a.req('voice:state', { channel_id: null });
    assert.deepEqual(leave, { ok: true, data: { callId: null } });
    const expected = [
      { event: 'CALL_CREATE', data: { channel_id: ch.id, region: EU, ringing: [], voice_states: [] } },
      ringing([ch.a.id, ch.b.id]),
      joinedA,
      ringing([ch.b.id]),
      ringing([]),
      voiceState(null, ch.a.id, a.sessionId),
      { event: 'CALL_DELETE', data: { channel_id: ch.id } },
    ];
    await expectLog(bot, expected, 'bot');
    await expectLog(a, expected, 'A (a recipient sees the same events)');
    await expectLog(b, expected, 'B (a recipient sees the same events)');
    for (const [client, label] of [[outsider, 'outsider user'], [outsiderBot, 'outsider bot']] as const) {
      await client.barrier();
      assert.deepEqual(client.events, [], `${label} hears nothing`);
      assert.deepEqual(client.incoming, [], `${label} is not rung`);
    }
  });

  test('dispatches reach every socket of every recipient, bots included, and no one else', async () => {
    const ch = await voiceChannel();
    const outsiders = [await kit.connect((await kit.user('outsider')).token), await kit.connect((await kit.bot('outsider-bot')).token)];
    const sockets = [
      await kit.connect(ch.bot.token),
      await kit.connect(ch.bot.token),
      await kit.connect(ch.a.token),
      await kit.connect(ch.a.token),
      await kit.connect(ch.b.token),
    ];
    const joiner = sockets[2]!;
    const join = await joiner.req('voice:state', { channel_id: ch.id });
    assert.equal(join.ok, true, JSON.stringify(join));
    assert.equal((await joiner.req('voice:state', { channel_id: null })).ok, true);
    const expected = [
      { event: 'CALL_CREATE', data: { channel_id: ch.id, region: EU, ringing: [], voice_states: [] } },
      voiceState(ch.id, ch.a.id, joiner.sessionId),
      voiceState(null, ch.a.id, joiner.sessionId),
      { event: 'CALL_DELETE', data: { channel_id: ch.id } },
    ];
    for (const [i, s] of sockets.entries()) await expectLog(s, expected, `socket ${i}`);
    for (const [i, s] of outsiders.entries()) {
      await s.barrier();
      assert.deepEqual(s.events, [], `outsider ${i} hears nothing`);
    }
  });
});

describe('voice:state from a widget', () => {
  test('joins with {channel_id}, updates self_mute / self_deaf, leaves with null', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    const a = await kit.connect(ch.a.token);
    const join = await a.req('voice:state', { channel_id: ch.id });
    assert.equal(join.ok, true, JSON.stringify(join));
    const callId = join.data!.callId as string;
    assert.match(callId, /^[0-9]+$/);
    assert.deepEqual(await a.req('voice:state', { channel_id: ch.id, self_mute: true }), { ok: true, data: { callId } });
    assert.deepEqual(await a.req('voice:state', { channel_id: ch.id, self_mute: true, self_deaf: true }), { ok: true, data: { callId } });
    assert.deepEqual(await a.req('voice:state', { channel_id: ch.id, self_mute: false }), { ok: true, data: { callId } });
    assert.deepEqual(await a.req('voice:state', { channel_id: null }), { ok: true, data: { callId: null } });
    await expectLog(
      bot,
      [
        { event: 'CALL_CREATE', data: { channel_id: ch.id, region: EU, ringing: [], voice_states: [] } },
        voiceState(ch.id, ch.a.id, a.sessionId),
        voiceState(ch.id, ch.a.id, a.sessionId, true),
        voiceState(ch.id, ch.a.id, a.sessionId, true, true),
        voiceState(ch.id, ch.a.id, a.sessionId, false, true),
        voiceState(null, ch.a.id, a.sessionId),
        { event: 'CALL_DELETE', data: { channel_id: ch.id } },
      ],
      'bot: one VOICE_STATE_UPDATE per change',
    );
  });

  test('a second member joins the running call and the call ends only when both left', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    const [a, b] = [await kit.connect(ch.a.token), await kit.connect(ch.b.token)];
    const first = await a.req('voice:state', { channel_id: ch.id });
    const second = await b.req('voice:state', { channel_id: ch.id });
    assert.equal(second.data?.callId, first.data?.callId, 'same call');
    await a.req('voice:state', { channel_id: null });
    await bot.seen('VOICE_STATE_UPDATE', 3);
    await bot.barrier();
    assert.equal(bot.events.filter((e) => e.event === 'CALL_DELETE').length, 0, 'B is still in the call');
    await b.req('voice:state', { channel_id: null });
    await bot.seen('CALL_DELETE');
    assert.deepEqual(
      bot.events.map((e) => [e.event, e.data.user_id ?? null, e.data.channel_id]),
      [
        ['CALL_CREATE', null, ch.id],
        ['VOICE_STATE_UPDATE', ch.a.id, ch.id],
        ['VOICE_STATE_UPDATE', ch.b.id, ch.id],
        ['VOICE_STATE_UPDATE', ch.a.id, null],
        ['VOICE_STATE_UPDATE', ch.b.id, null],
        ['CALL_DELETE', null, ch.id],
      ],
    );
  });

  test('refuses non-members, unknown channels and malformed payloads; join needs no media setup', async () => {
    const ch = await voiceChannel();
    const outsider = await kit.connect((await kit.user('outsider')).token);
    assert.equal((await outsider.req('voice:state', { channel_id: ch.id })).error?.code, 'forbidden');
    assert.equal((await outsider.req('voice:state', { channel_id: '900000000000000001' })).error?.code, 'not_found');
    for (const payload of [undefined, {}, { channel_id: 'general' }, { channel_id: ch.id, self_mute: 'yes' }, { channel_id: ch.id, extra: 1 }]) {
      const res = await outsider.req('voice:state', payload);
      assert.equal(res.error?.code, 'bad_request', JSON.stringify(payload));
      assert.match(res.error!.message, /voice:state/);
    }
    const bot = await kit.connect(ch.bot.token);
    const a = await kit.connect(ch.a.token);
    const join = await a.req('voice:state', { channel_id: ch.id });
    assert.equal(join.ok, true, 'no media:setup was sent before joining');
    await bot.seen('VOICE_STATE_UPDATE');
    await a.req('voice:state', { channel_id: null });
    await bot.seen('CALL_DELETE');
  });
});

describe('bots on the gateway', () => {
  test('a bot socket may not send call or media events', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    const forbidden: [string, unknown][] = [
      ['voice:state', { channel_id: ch.id }],
      ['media:setup', {}],
      ['media:produce', { transportId: 't', callId: '1', kind: 'audio', rtpParameters: {} }],
      ['call:dial', { destination: 'someone' }],
      ['call:answer', { callId: '1' }],
      ['call:mute', { callId: '1', muted: true }],
    ];
    for (const [event, payload] of forbidden) {
      const res = await bot.req(event, payload);
      assert.equal(res.ok, false, event);
      assert.equal(res.error?.code, 'forbidden', event);
    }
    assert.equal((await bot.req('presence:update', { dnd: true })).ok, true, 'presence is allowed');
    assert.deepEqual(bot.events, [], 'the refused voice:state started no call');
  });
});

describe('VOICE_SERVER_UPDATE', () => {
  test('moving a running call to another region tells the joined widget (once) and the recipients, with the new region in CALL_UPDATE', async () => {
    const ch = await voiceChannel();
    const bot = await kit.connect(ch.bot.token);
    const [a, b] = [await kit.connect(ch.a.token), await kit.connect(ch.b.token)];
    assert.equal((await a.req('voice:state', { channel_id: ch.id })).ok, true);
    const patch = (region: string | null) => api(t, 'PATCH', `/api/v1/channels/${ch.id}/call`, { headers: auth.bot(ch.bot.token), body: { region } });
    assert.equal((await patch(US)).status, 204);
    await a.until(() => a.events.some((e) => e.event === 'VOICE_SERVER_UPDATE'), 'VOICE_SERVER_UPDATE on A');
    assert.equal((await patch(US)).status, 204, 'same region again: no move');
    assert.equal((await patch(null)).status, 204, 'automatic choice: the running call stays');
    assert.equal((await a.req('voice:state', { channel_id: null })).ok, true);
    const serverUpdate = { event: 'VOICE_SERVER_UPDATE', data: { channel_id: ch.id, region: US, endpoint: endpointOf(US) } };
    const expected = [
      { event: 'CALL_CREATE', data: { channel_id: ch.id, region: EU, ringing: [], voice_states: [] } },
      voiceState(ch.id, ch.a.id, a.sessionId),
      serverUpdate,
      { event: 'CALL_UPDATE', data: { channel_id: ch.id, region: US, ringing: [] } },
      voiceState(null, ch.a.id, a.sessionId),
      { event: 'CALL_DELETE', data: { channel_id: ch.id } },
    ];
    await expectLog(a, expected, 'A (joined): exactly one VOICE_SERVER_UPDATE');
    await expectLog(bot, expected, 'bot');
    await expectLog(b, expected, 'B (not joined)');
  });

  test('a region set before the call starts is the call region; moving back to it later tells the widget again', async () => {
    const ch = await voiceChannel();
    const a = await kit.connect(ch.a.token);
    const headers = auth.bearer(ch.a.token);
    assert.equal((await api(t, 'PATCH', `/api/v1/channels/${ch.id}/call`, { headers, body: { region: US } })).status, 204);
    assert.equal((await a.req('voice:state', { channel_id: ch.id })).ok, true);
    await a.seen('VOICE_STATE_UPDATE');
    assert.deepEqual(a.events[0], { event: 'CALL_CREATE', data: { channel_id: ch.id, region: US, ringing: [], voice_states: [] } });
    assert.equal((await api(t, 'PATCH', `/api/v1/channels/${ch.id}/call`, { headers, body: { region: EU } })).status, 204);
    await a.until(
      () => a.events.some((e) => e.event === 'VOICE_SERVER_UPDATE' && e.data.region === EU),
      'VOICE_SERVER_UPDATE to eu-central',
    );
    const update = a.events.find((e) => e.event === 'VOICE_SERVER_UPDATE' && e.data.region === EU);
    assert.deepEqual(update?.data, { channel_id: ch.id, region: EU, endpoint: endpointOf(EU) });
    await a.req('voice:state', { channel_id: null });
    await a.seen('CALL_DELETE');
  });
});
