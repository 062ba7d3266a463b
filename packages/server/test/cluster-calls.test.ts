// Calls across two in-process nodes on one Redis and one PostgreSQL, with signalling-only widget sockets: a call lives
// on the node that placed it, the other node's widget is rung there (its media moved there first) and its answer and
// hang-up are forwarded; a widget that reconnects to the other node resumes its call on the owner; a moved widget is offered audio once its
// capabilities reach the owner; a user busy in a call one node owns is busy for click-to-call sent to any node and for a
// ring from a third node (their session on node C); a widget's event waiting for a node that dies fails as soon as the
// node is found lost; a draining node's widgets dial onto the other node; members of one channel on both nodes join one
// channel call, on the node that started it (their channel REST is run there too), in the region the caller measured
// fastest, whichever node their widget measured on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { startRedis, type RunningRedis } from '../../../test/helpers/redis.js';
import { ClusterBus } from '../src/cluster/bus.js';
import { ackRequest, ADMIN_KEY, api, startTestServer, widgetSocket, type TestServer } from './helpers.js';
import { until } from './fake-sfu.js';
import { REGION_ENV, REGIONS } from './channel-helpers.js';
import { freshPostgresDatabase } from './postgres.js';

let redis: RunningRedis;
let client: Redis;
let a: TestServer;
let b: TestServer;
/** What every node of the file runs with (a node started by one test too). */
let shared: Record<string, string>;
const sockets: Socket[] = [];

/** A widget socket that records the events it receives, in order. */
async function widget(server: TestServer, identity: string, extension: string): Promise<{ socket: Socket; seen: string[] }> {
  const socket = await widgetSocket(server, identity, { extension });
  sockets.push(socket);
  const seen: string[] = [];
  socket.onAny((event: string) => seen.push(event));
  return { socket, seen };
}

/** Waits until each server counts `nodeId` among the live nodes: its live-calls listing then asks that node over the bus. */
async function untilSeen(nodeId: string, servers: [TestServer, string][]): Promise<void> {
  const tapped = new Redis(redis.url);
  const askedBy = new Set<string>();
  tapped.on('message', (_channel: string, raw: string) => askedBy.add((JSON.parse(raw) as { from: string }).from));
  await tapped.subscribe(`astral:rpc:${nodeId}`);
  try {
    for (const [server, id] of servers) {
      await until(`${id} asking ${nodeId}`, async () => (await api(server, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY }), askedBy.has(id)), 15_000, 50);
    }
  } finally {
    tapped.disconnect();
  }
}

/** Waits until no node reports a load in Redis, then one heartbeat more so every node's view of the loads is that fresh. */
async function untilIdle(): Promise<void> {
  const loads = async () => (await Promise.all(['it-a', 'it-b'].map((id) => client.get(`astral:node:${id}`)))).map((raw) => (raw ? (JSON.parse(raw) as { load: number }).load : 0));
  await until('no load on any node', async () => (await loads()).every((load) => load === 0), 15_000, 50);
  await new Promise((r) => setTimeout(r, 2 * Number(shared.ASTRAL_NODE_HEARTBEAT_MS)));
}

const next = (socket: Socket, event: string) => new Promise<Record<string, unknown>>((resolve) => socket.once(event, resolve));

function record(server: TestServer, id: string): Promise<Record<string, unknown>> {
  return until(`call ${id} completed`, async () => {
    const { body } = await api(server, 'GET', `/api/v1/calls/${id}`, { key: ADMIN_KEY });
    return body.status === 'completed' && body;
  }, 15_000, 50);
}

describe('calls across two nodes', { timeout: 180_000 }, () => {
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    shared = {
      ASTRAL_REDIS_URL: redis.url,
      ASTRAL_DATABASE_URL: await freshPostgresDatabase(),
      ASTRAL_SECRET_KEY: randomBytes(32).toString('hex'),
      ASTRAL_RECORDING: 'false',
      ASTRAL_NODE_HEARTBEAT_MS: '200',
      ASTRAL_NODE_TTL_MS: '1000',
    };
    a = await startTestServer({ ...shared, ASTRAL_NODE_ID: 'it-a' });
    b = await startTestServer({ ...shared, ASTRAL_NODE_ID: 'it-b' });
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    await a?.close();
    await b?.close();
    client?.disconnect();
    await redis?.stop();
  });

  test("a call dialled on node B rings a widget on node A, whose media moves to B first; its answer and hang-up run on B", async () => {
    const alice = await widget(b, 'alice-x', '2001');
    const bob = await widget(a, 'bob-x', '2002');
    const incoming = next(bob.socket, 'call:incoming');
    const dialed = await ackRequest(alice.socket, 'call:dial', { destination: '2002' });
    assert.equal(dialed.ok, true, JSON.stringify(dialed));
    const callId = dialed.data!.callId!;
    assert.equal((await incoming).callId, callId);
    assert.equal(await client.get(`astral:call:${callId}`), 'it-b');
    assert.deepEqual(bob.seen.slice(-2), ['media:relocated', 'call:incoming'], "Bob's media is moved to the call's node before the ring");

    const answered = next(alice.socket, 'call:answered');
    assert.deepEqual(await ackRequest(bob.socket, 'call:answer', { callId }), { ok: true, data: {} });
    await answered;
    // A call event for a call the other node owns still gets that node's answer (here: an error body).
    const wrong = await ackRequest(bob.socket, 'call:hold', { callId: '123', held: true });
    assert.equal(wrong.ok, false);
    assert.equal(wrong.error!.code, 'not_found');

    const ended = next(alice.socket, 'call:ended');
    assert.deepEqual(await ackRequest(bob.socket, 'call:hangup', { callId }), { ok: true, data: {} });
    assert.equal((await ended).reason, 'hangup');
    const row = await record(a, callId);
    assert.deepEqual([row.disposition, row.end_reason], ['ANSWERED', 'hangup']);
    assert.equal(await client.get(`astral:call:${callId}`), null, 'ownership released');
  });

  test("a widget reconnecting to the node that does not own its call resumes it: forwarded to the owner, its media moved there", async () => {
    const erin = await widget(a, 'erin-x', '2005');
    const fred = await widget(b, 'fred-x', '2006');
    const mediaPort = async (socket: Socket) => {
      const setup = await ackRequest(socket, 'media:setup', {});
      assert.equal(setup.ok, true, JSON.stringify(setup));
      return (setup.data as unknown as { send: { iceCandidates: { port: number }[] } }).send.iceCandidates[0]!.port;
    };
    const portOfA = await mediaPort(erin.socket);
    const incoming = next(fred.socket, 'call:incoming');
    const dialed = await ackRequest(erin.socket, 'call:dial', { destination: '2006' });
    assert.equal(dialed.ok, true, JSON.stringify(dialed));
    const callId = dialed.data!.callId!;
    await incoming;
    assert.equal(await client.get(`astral:call:${callId}`), 'it-a', "the call is on Erin's node");
    const answered = next(erin.socket, 'call:answered');
    assert.deepEqual(await ackRequest(fred.socket, 'call:answer', { callId }), { ok: true, data: {} });
    await answered;

    // Erin's connection drops; her tab comes back through the load balancer on node B, builds its media there, resumes.
    erin.socket.disconnect();
    const back = await widget(b, 'erin-x', '2005');
    assert.notEqual(await mediaPort(back.socket), portOfA, 'a fresh session has its media on its own node');
    assert.deepEqual(await ackRequest(back.socket, 'call:resume', { callId }), { ok: true, data: {} });
    assert.ok(back.seen.includes('media:relocated'), `told to move its media before the resume's ack: ${back.seen.join(', ')}`);
    assert.equal(await mediaPort(back.socket), portOfA, "its media is now set up on the owner's mediasoup");

    const ended = next(fred.socket, 'call:ended');
    assert.deepEqual(await ackRequest(back.socket, 'call:hangup', { callId }), { ok: true, data: {} });
    assert.equal((await ended).reason, 'hangup');
    const row = await record(b, callId);
    assert.deepEqual([row.disposition, row.end_reason], ['ANSWERED', 'hangup'], 'one call, resumed (not ended as a drop)');
  });

  test("a moved widget's media set up on the owner before its capabilities: it is offered the other party's audio once they arrive, no failed bridge", async () => {
    const warnings: string[] = [];
    const log = a.server.app.log;
    const warn = log.warn.bind(log);
    log.warn = ((obj: unknown, msg?: string) => (warnings.push(typeof obj === 'string' ? obj : (msg ?? '')), warn(obj as never, msg as never))) as typeof log.warn;
    try {
      const gina = await widget(a, 'gina-x', '2007');
      const hank = await widget(b, 'hank-x', '2008');
      const setup = async (socket: Socket) => {
        const res = await ackRequest(socket, 'media:setup', {});
        assert.equal(res.ok, true, JSON.stringify(res));
        return res.data as unknown as { routerRtpCapabilities: unknown; send: { id: string } };
      };
      const ginaMedia = await setup(gina.socket);
      assert.equal((await ackRequest(gina.socket, 'media:capabilities', { rtpCapabilities: ginaMedia.routerRtpCapabilities })).ok, true);
      await untilIdle(); // the least loaded node takes the call: a call of an earlier test may still count on one
      const incoming = next(hank.socket, 'call:incoming');
      const dialed = await ackRequest(gina.socket, 'call:dial', { destination: '2008' });
      assert.equal(dialed.ok, true, JSON.stringify(dialed));
      const callId = dialed.data!.callId!;
      await incoming;
      assert.equal(await client.get(`astral:call:${callId}`), 'it-a');
      assert.deepEqual(await ackRequest(hank.socket, 'call:answer', { callId }), { ok: true, data: {} });
      // Hank's widget rebuilds its media on node A (media:relocated): transports first, capabilities a moment later.
      const hankMedia = await setup(hank.socket);
      const offered = new Promise<Record<string, unknown>>((resolve) =>
        hank.socket.on('media:consume', (offer: Record<string, unknown>, ack: (res: unknown) => void) => (ack({ ok: true, data: {} }), resolve(offer))),
      );
      const rtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} }], encodings: [{ ssrc: 4242 }], headerExtensions: [], rtcp: { cname: 'gina' } };
      const produced = await ackRequest(gina.socket, 'media:produce', { transportId: ginaMedia.send.id, callId, kind: 'audio', rtpParameters });
      assert.equal(produced.ok, true, JSON.stringify(produced));
      assert.equal((await ackRequest(hank.socket, 'media:capabilities', { rtpCapabilities: hankMedia.routerRtpCapabilities })).ok, true);
      const offer = await offered;
      assert.deepEqual([offer.callId, offer.producerId], [callId, produced.data!.producerId]);
      assert.deepEqual(warnings.filter((w) => /bridge/.test(w)), [], 'no consume was tried before the capabilities');
      assert.deepEqual(await ackRequest(hank.socket, 'call:hangup', { callId }), { ok: true, data: {} });
    } finally {
      log.warn = warn;
    }
  });

  test("a node lost while a widget's event waits for it: the widget's ack says so as soon as the loss is seen, not at the event's timeout", async () => {
    // A node that speaks only the bus: it registers, rings Lena on node A for a call it claims, takes her answer, and dies.
    const ghost = new ClusterBus(redis.url, 'it-ghost', 5_000, () => undefined);
    await ghost.start();
    const entry = JSON.stringify({ id: 'it-ghost', url: 'http://127.0.0.1:9', mediaIp: '127.0.0.1', regions: ['default'], load: 0, draining: true });
    const beat = () => client.multi().set('astral:node:it-ghost', entry, 'PX', 1_000).sadd('astral:nodes', 'it-ghost').exec();
    await beat();
    const heartbeat = setInterval(() => void beat(), 200);
    const callId = '9000000000000000001';
    try {
      let forwarded = 0;
      ghost.handle('calls:live', () => []);
      ghost.handle('event', () => (forwarded++, new Promise(() => undefined)));
      await untilSeen('it-ghost', [[a, 'it-a']]);
      const lena = await widget(a, 'lena-x', '2013');
      await client.set(`astral:call:${callId}`, 'it-ghost');
      const from = { userId: 'ghost-caller', identity: 'ghost', displayName: 'Ghost', extension: null };
      const rung = await ghost.call('it-a', 'widget:request', { sessionId: lena.socket.id, event: 'call:incoming', payload: { callId, from }, timeoutMs: 5_000 });
      assert.deepEqual(rung, { ok: true, data: {} });
      assert.deepEqual(lena.seen.slice(-2), ['media:relocated', 'call:incoming'], "Lena's media moved to the ghost's call");

      const ended = next(lena.socket, 'call:ended');
      const answer = ackRequest(lena.socket, 'call:answer', { callId });
      await until('the forwarded answer', () => forwarded > 0);
      clearInterval(heartbeat); // it dies: no more beats, no leave
      const res = await answer;
      assert.equal(res.ok, false, JSON.stringify(res));
      assert.equal(res.error!.code, 'unavailable');
      assert.equal(res.error!.message, 'node it-ghost was lost (its heartbeat expired) before it answered event');
      assert.deepEqual([(await ended).callId, (await ended).reason], [callId, 'node_lost']);
    } finally {
      clearInterval(heartbeat);
      await ghost.close();
      await client.del(`astral:call:${callId}`);
    }
  });

  test('a user busy in a call node B owns, their session on A or C: click-to-call from them is refused on every node, a transfer to them too; a ring from A for the one on C ends BUSY', async () => {
    const c = await startTestServer({ ...shared, ASTRAL_NODE_ID: 'it-c' });
    try {
      await untilSeen('it-c', [[a, 'it-a'], [b, 'it-b']]);
      const ivan = await widget(c, 'ivan-x', '2009');
      const judy = await widget(a, 'judy-x', '2010');
      const kim = await widget(a, 'kim-x', '2011');
      // Click-to-call sent to node B, which owns the call: Ivan (node C) is rung first, then Judy (node A).
      const ivanRung = next(ivan.socket, 'call:incoming');
      const started = await api(b, 'POST', '/api/v1/calls/click-to-call', { key: ADMIN_KEY, body: { from: '2009', to: '2010' } });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const callId = (await ivanRung).callId as string;
      assert.equal(await client.get(`astral:call:${callId}`), 'it-b');
      const judyRung = next(judy.socket, 'call:incoming');
      assert.deepEqual(await ackRequest(ivan.socket, 'call:answer', { callId }), { ok: true, data: {} });
      await judyRung;
      const answered = next(ivan.socket, 'call:answered');
      assert.deepEqual(await ackRequest(judy.socket, 'call:answer', { callId }), { ok: true, data: {} });
      await answered;

      // Asked on the owner, on a node holding the busy session, or on the node holding the other one: 409 each time.
      for (const [node, name, from] of [[b, 'B', '2009'], [a, 'A', '2010'], [a, 'A', '2009'], [c, 'C', '2010'], [c, 'C', '2009']] as const) {
        const refused = await api(node, 'POST', '/api/v1/calls/click-to-call', { key: ADMIN_KEY, body: { from, to: '2011' } });
        assert.equal(refused.status, 409, `click-to-call from ${from} sent to node ${name}: ${JSON.stringify(refused.body)}`);
        assert.match(String(refused.body.message), new RegExp(`extension ${from} is busy`));
      }
      assert.ok(!kim.seen.includes('call:incoming'), 'no refused click-to-call rang anyone');

      // Kim and Mia talk on node A; Kim's transfer to Ivan (session on C, call on B) is refused busy, nobody rung.
      const mia = await widget(a, 'mia-x', '2012');
      const miaRung = next(mia.socket, 'call:incoming');
      const talk = await ackRequest(kim.socket, 'call:dial', { destination: '2012' });
      assert.equal(talk.ok, true, JSON.stringify(talk));
      const talkId = talk.data!.callId!;
      await miaRung;
      const kimAnswered = next(kim.socket, 'call:answered');
      assert.deepEqual(await ackRequest(mia.socket, 'call:answer', { callId: talkId }), { ok: true, data: {} });
      await kimAnswered;
      const transfer = await ackRequest(kim.socket, 'call:transfer', { callId: talkId, destination: '2009', type: 'blind' });
      assert.equal(transfer.ok, false, JSON.stringify(transfer));
      assert.match(JSON.stringify(transfer), /conflict.*2009 is busy/);
      const talkEnded = next(mia.socket, 'call:ended');
      assert.deepEqual(await ackRequest(kim.socket, 'call:hangup', { callId: talkId }), { ok: true, data: {} });
      await talkEnded;

      // Kim on node A dials Ivan, whose session is on C and whose call is on B: his node answers busy, the call ends BUSY.
      const kimEnded = next(kim.socket, 'call:ended');
      const dialed = await ackRequest(kim.socket, 'call:dial', { destination: '2009' });
      assert.equal(dialed.ok, true, JSON.stringify(dialed));
      const kimCall = dialed.data!.callId!;
      assert.equal((await kimEnded).reason, 'busy');
      const row = await record(a, kimCall);
      assert.deepEqual([row.disposition, row.end_reason], ['BUSY', 'busy']);
      assert.equal(ivan.seen.filter((e) => e === 'call:incoming').length, 1, 'Ivan was not rung for the second call');

      const ended = next(ivan.socket, 'call:ended');
      assert.deepEqual(await ackRequest(judy.socket, 'call:hangup', { callId }), { ok: true, data: {} });
      assert.equal((await ended).reason, 'hangup');
      const first = await record(c, callId);
      assert.deepEqual([first.disposition, first.end_reason], ['ANSWERED', 'hangup'], 'the busy call went on undisturbed');
    } finally {
      await c.close();
    }
  });

  test("members of one channel on both nodes join one call, owned by the node that started it: the other's media moves there, REST on either node acts on it, leaving ends it once", async () => {
    const token = async (identity: string) => (await api(a, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity } })).body as { user_id: string; token: string };
    const [xavierId, yaraId, zedId] = await Promise.all(['xavier-x', 'yara-x', 'zed-x'].map(async (identity) => (await token(identity)).user_id));
    const made = await api(b, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [xavierId, yaraId, zedId] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const channelId = made.body.id as string;
    const xavier = await widget(a, 'xavier-x', '2014');
    const yara = await widget(b, 'yara-x', '2015');
    const zed = await widget(b, 'zed-x', '2016');
    await untilIdle(); // every node's view of the live nodes is fresh: the live-calls listings below ask only live ones

    const x = await ackRequest(xavier.socket, 'voice:state', { channel_id: channelId });
    assert.equal(x.ok, true, JSON.stringify(x));
    const callId = x.data!.callId!;
    const [channelKey] = await client.keys(`astral:channel:*:${channelId}`);
    assert.equal(await client.get(channelKey!), 'it-a', "the channel's call is claimed by the node that started it");
    const y = await ackRequest(yara.socket, 'voice:state', { channel_id: channelId });
    assert.equal(y.ok, true, JSON.stringify(y));
    assert.equal(y.data!.callId, callId, 'one call for the channel');
    assert.ok(yara.seen.includes('media:relocated'), `Yara's media moved to the owner before the ack: ${yara.seen.join(', ')}`);
    assert.equal((await ackRequest(yara.socket, 'voice:state', { channel_id: channelId, self_mute: true })).ok, true, 'a mute goes to the owner too');
    for (const node of [a, b]) {
      const live = await api(node, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY });
      assert.equal((live.body as unknown as { linkedid: string }[]).filter((l) => l.linkedid === callId).length, 2, 'both members joined the one call');
    }

    // Yara rings Zed and stops it through node B: node A, which runs the call, rings him for it.
    const bearer = { authorization: `Bearer ${(await token('yara-x')).token}` };
    const rung = next(zed.socket, 'call:incoming');
    const ring = await api(b, 'POST', `/api/v1/channels/${channelId}/call/ring`, { headers: bearer, body: { recipients: [zedId] } });
    assert.equal(ring.status, 204, JSON.stringify(ring.body));
    assert.equal((await rung).callId, callId);
    const settled = next(zed.socket, 'call:ended');
    const stop = await api(b, 'POST', `/api/v1/channels/${channelId}/call/stop-ringing`, { headers: bearer, body: { recipients: [zedId] } });
    assert.equal(stop.status, 204, JSON.stringify(stop.body));
    assert.equal((await settled).callId, callId);

    const deleted = next(xavier.socket, 'CALL_DELETE');
    assert.deepEqual(await ackRequest(xavier.socket, 'voice:state', { channel_id: null }), { ok: true, data: { callId: null } });
    assert.equal(await client.get(channelKey!), 'it-a', 'the call goes on with Yara');
    assert.deepEqual(await ackRequest(yara.socket, 'voice:state', { channel_id: null }), { ok: true, data: { callId: null } });
    await deleted;
    const row = await record(b, callId);
    assert.equal(row.status, 'completed');
    assert.equal(await client.get(channelKey!), null, 'ownership of the channel released');
    await ackRequest(xavier.socket, 'voice:state', { channel_id: null }); // a round trip: any later dispatch has arrived
    assert.deepEqual([xavier.seen.filter((e) => e === 'CALL_CREATE').length, xavier.seen.filter((e) => e === 'CALL_DELETE').length], [1, 1], 'one call created and ended');
  });

  test("a channel call started on one node lands in the region the caller's widget measured fastest on another node", async () => {
    const c = await startTestServer({ ...shared, ...REGION_ENV, ASTRAL_NODE_ID: 'it-r' });
    try {
      const token = async (identity: string) => (await api(a, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity } })).body as { user_id: string; token: string };
      const [uma, vic] = [await token('uma-x'), await token('vic-x')];
      const made = await api(a, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [uma.user_id, vic.user_id] } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const channelId = made.body.id as string;
      // Uma's widget is on node A and measures there; the default region (listed first) is the slow one.
      const umaWidget = await widget(a, 'uma-x', '2030');
      await widget(c, 'vic-x', '2031');
      assert.deepEqual(await ackRequest(umaWidget.socket, 'voice:latency', { rtts: { [REGIONS[0]!.id]: 250, [REGIONS[1]!.id]: 12 } }), { ok: true, data: {} });
      // She rings Vic through node C, which starts the channel's call: in her fastest region.
      const created = next(umaWidget.socket, 'CALL_CREATE');
      const ring = await api(c, 'POST', `/api/v1/channels/${channelId}/call/ring`, { headers: { authorization: `Bearer ${uma.token}` }, body: { recipients: [vic.user_id] } });
      assert.equal(ring.status, 204, JSON.stringify(ring.body));
      const [channelKey] = await client.keys(`astral:channel:*:${channelId}`);
      assert.equal(await client.get(channelKey!), 'it-r', 'node C runs the call');
      assert.equal((await created).region, REGIONS[1]!.id);
      const stop = await api(c, 'POST', `/api/v1/channels/${channelId}/call/stop-ringing`, { headers: { authorization: `Bearer ${uma.token}` }, body: { recipients: [vic.user_id] } });
      assert.equal(stop.status, 204, JSON.stringify(stop.body));
      await until('the unanswered channel call ended', async () => (await client.get(channelKey!)) === null, 15_000, 50);
    } finally {
      await c.close();
    }
  });

  test("members of a channel starting its call on both nodes at once join one call (the node that lost the race to claim it forwards the join to the winner)", async () => {
    const token = async (identity: string) => (await api(a, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity } })).body as { user_id: string };
    const [olgaId, pedroId] = await Promise.all(['olga-x', 'pedro-x'].map(async (identity) => (await token(identity)).user_id));
    const olga = await widget(a, 'olga-x', '2017');
    const pedro = await widget(b, 'pedro-x', '2018');
    for (let round = 0; round < 8; round++) {
      const made = await api(a, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients: [olgaId, pedroId] } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const channelId = made.body.id as string;
      const [o, p] = await Promise.all([olga, pedro].map((w) => ackRequest(w.socket, 'voice:state', { channel_id: channelId })));
      assert.equal(o!.ok && p!.ok, true, `round ${round}: ${JSON.stringify([o, p])}`);
      assert.equal(o!.data!.callId, p!.data!.callId, `round ${round}: one call for the channel`);
      for (const w of [olga, pedro]) assert.deepEqual(await ackRequest(w.socket, 'voice:state', { channel_id: null }), { ok: true, data: { callId: null } });
      assert.equal((await record(a, o!.data!.callId!)).status, 'completed');
    }
  });

  test('a draining node takes no new calls: its widgets dial onto the other node, which owns the call', async () => {
    const carol = await widget(b, 'carol-x', '2003');
    const dave = await widget(a, 'dave-x', '2004');
    await b.server.drain(0);
    const ready = await fetch(`${b.url}/readyz`);
    assert.equal(ready.status, 503);
    const incoming = next(dave.socket, 'call:incoming');
    const relocated = next(carol.socket, 'media:relocated');
    const dialed = await ackRequest(carol.socket, 'call:dial', { destination: '2004' });
    assert.equal(dialed.ok, true, JSON.stringify(dialed));
    const callId = dialed.data!.callId!;
    await Promise.all([incoming, relocated]);
    assert.equal(await client.get(`astral:call:${callId}`), 'it-a');
    const live = await api(b, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY });
    assert.equal((live.body as unknown as { linkedid: string }[]).filter((l) => l.linkedid === callId).length, 2, 'the draining node still lists it');
    assert.deepEqual(await ackRequest(carol.socket, 'call:hangup', { callId }), { ok: true, data: {} });
    const row = await record(b, callId);
    assert.deepEqual([row.disposition, row.end_reason], ['NO ANSWER', 'cancelled']);
  });
});
