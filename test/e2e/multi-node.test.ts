// End to end on two nodes: Redis + PostgreSQL + two server processes; Alice's widget on node A calls Bob's, which reaches
// the cluster through a load balancer that prefers node B. Media lives on the node owning the call; REST works on both;
// a widget on the call's node reconnects to the other node and resumes the call; node B is killed mid-call and node A
// closes the call `node_lost`, Bob's widget reconnects to A and calls again.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { launchBrowser } from '../helpers/browser.js';
import { api, assertTones, call, completedRecord, liveLegs, startTwoNodes, type TwoNodes } from '../helpers/nodes.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, mintTokenBody, startServer, type RunningServer } from '../helpers/server.js';
import { toneFile } from '../helpers/tone.js';

const ALICE_HZ = 440;
const BOB_HZ = 1000;

let nodes: TwoNodes;
let redisClient: Redis;
let nodeA: RunningServer;
let nodeB: RunningServer;
let nodeC: RunningServer | undefined;
let nodeD: RunningServer | undefined;
let balancer: Balancer;
let browsers: { alice: Browser; bob: Browser };
let pages: PhonePage[];

/** Microphones a node receives: its sessions' producers' RTP streams, over its workers (its /metrics, from loopback). */
async function microphones(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [...text.matchAll(/^astral_mediasoup_producer_streams_measured\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const open = (browser: Browser, server: string, token: string): Promise<PhonePage> => nodes.open(browser, server, token);

describe('two nodes on Redis and PostgreSQL', { timeout: 180_000 }, () => {
  let aliceToken: string;
  let bobToken: string;
  let shared: Record<string, string>;

  before(async () => {
    nodes = await startTwoNodes();
    ({ redisClient, a: nodeA, b: nodeB, balancer, shared, pages } = nodes);
    const fixtures = join(tmpdir(), 'astral-fixtures');
    const [alice, bob] = await Promise.all([launchBrowser(toneFile(fixtures, ALICE_HZ)), launchBrowser(toneFile(fixtures, BOB_HZ))]);
    browsers = { alice: alice!, bob: bob! };
    aliceToken = await mintToken(nodeA, 'alice', { display_name: 'Alice', extension: '1001' });
    bobToken = await mintToken(nodeB, 'bob', { display_name: 'Bob', extension: '1002' });
  });

  after(async () => {
    await nodes?.close([nodeC, nodeD]);
    await Promise.all(Object.values(browsers ?? {}).map((b) => b.close()));
  });

  test('a call from node A to a widget on node B rings, carries both tones, lists on both nodes and hangs up by REST on the other node', async () => {
    const alice = await open(browsers.alice, nodeA.url, aliceToken);
    const bob = await open(browsers.bob, balancer.url, bobToken);
    const callId = await call(alice, bob, '1002');
    await assertTones(alice, ALICE_HZ, bob, BOB_HZ);

    for (const node of [nodeA, nodeB]) {
      const legs = (await liveLegs(node)).filter((l) => l.linkedid === callId);
      assert.equal(legs.length, 2, `both legs listed by ${node.url}: ${JSON.stringify(legs)}`);
      assert.ok(legs.every((l) => l.status === 'answered'));
    }
    // The owner hosts the call's control and media; the hang-up goes to the other node.
    const owner = await redisClient.get(`astral:call:${callId}`);
    assert.ok(owner === 'node-a' || owner === 'node-b', `the call has an owner: ${owner}`);
    const other = owner === 'node-a' ? nodeB : nodeA;
    const [aliceLeg] = (await liveLegs(other)).filter((l) => l.linkedid === callId && l.channel_id.includes('1001'));
    const res = await api(other, '/api/v1/calls/hangup-channel', { method: 'POST', body: JSON.stringify({ channel_id: aliceLeg!.channel_id }) });
    assert.equal(res.status, 200, await res.text());
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const record = await completedRecord(other, callId);
    assert.equal(record.disposition, 'ANSWERED');
    assert.equal(record.end_reason, 'hangup');
    assert.deepEqual(await liveLegs(other), []);

    const missing = await api(other, '/api/v1/calls/hangup-channel', { method: 'POST', body: JSON.stringify({ channel_id: aliceLeg!.channel_id }) });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'not_found');
  });

  test('Bob on node B calls Alice on node A: node B owns the call, Alice\'s media moves there, and her widget hangs up', async () => {
    const [alice, bob] = [pages[0]!, pages[1]!];
    assert.equal(await redisClient.hlen('astral:sessions:node-b'), 1, "Bob's socket is on node B");
    const callId = await call(bob, alice, '1001');
    assert.equal(await redisClient.get(`astral:call:${callId}`), 'node-b');
    await assertTones(bob, BOB_HZ, alice, ALICE_HZ);
    assert.deepEqual((await liveLegs(nodeA)).filter((l) => l.linkedid === callId).length, 2);
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const record = await completedRecord(nodeA, callId);
    assert.equal(record.disposition, 'ANSWERED');
    assert.equal(record.end_reason, 'hangup');
  });

  test("Alice's connection to the call's node drops and the balancer sends her back on node B: she resumes the same call there, audio both ways", async () => {
    const bob = pages[1]!;
    // A second tab of Alice's reaches the cluster through a load balancer of its own, which prefers node A.
    const steered = await startBalancer([nodeA.url, nodeB.url]);
    let alice: PhonePage | undefined;
    try {
      alice = await open(browsers.alice, steered.url, aliceToken);
      const callId = await call(alice, bob, '1002');
      assert.equal(await redisClient.get(`astral:call:${callId}`), 'node-a', "the call is on Alice's node");
      await assertTones(alice, ALICE_HZ, bob, BOB_HZ);

      // Her path to node A fails: the balancer drops her connection and sends the reconnect to node B.
      steered.prefer(nodeB.url);
      steered.cut();
      await alice.waitState('reconnecting', 5000);
      await alice.waitState('in-call', 20_000);
      assert.equal(await redisClient.hlen('astral:sessions:node-b'), 2, "Alice's new socket is on node B, with Bob's");
      const active = await alice.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { activeCall: { id: string } | null } }).client.activeCall?.id);
      assert.equal(active, callId, 'the same call, no re-dial');
      assert.equal(await bob.state(), 'in-call', 'Bob never left the call');
      await assertTones(alice, ALICE_HZ, bob, BOB_HZ);
      // Her media moved to node A, which owns the call: one microphone each there, none left on node B.
      assert.deepEqual([await microphones(nodeA), await microphones(nodeB)], [2, 0]);
      assert.deepEqual(await alice.events('astral-error'), [], 'no media error along the way');
      assert.deepEqual(await alice.events('astral-call-ended'), []);
      assert.deepEqual((await liveLegs(nodeB)).map((l) => l.linkedid), [callId, callId], 'one call, its two legs');

      await alice.invoke('hangup');
      await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
      const record = await completedRecord(nodeB, callId);
      assert.equal(record.disposition, 'ANSWERED');
      assert.equal(record.end_reason, 'hangup');
    } finally {
      await alice?.close(); // hangs up first if the test failed mid-call
      await steered.close();
    }
  });

  test('node B killed mid-call: node A records the call FAILED / node_lost, Bob reconnects to node A and calls Alice', async () => {
    const [alice, bob] = [pages[0]!, pages[1]!];
    const callId = await call(alice, bob, '1002');
    await assertTones(alice, ALICE_HZ, bob, BOB_HZ);

    nodeB.process.kill('SIGKILL');
    const record = await completedRecord(nodeA, callId);
    assert.equal(record.disposition, 'FAILED');
    assert.equal(record.end_reason, 'node_lost');
    await alice.waitState('ready');
    // Bob's widget reconnects through the load balancer, which now reaches node A only.
    await bob.waitState('ready', 20_000);

    const again = await call(bob, alice, '1001');
    await assertTones(bob, BOB_HZ, alice, ALICE_HZ);
    assert.equal(await redisClient.get(`astral:call:${again}`), 'node-a');
    await bob.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const second = await completedRecord(nodeA, again);
    assert.equal(second.disposition, 'ANSWERED');
    assert.equal(second.end_reason, 'hangup');
  });

  test('a node owning a call dies: node A closes its record FAILED / node_lost, and Alice, whose media was there, calls again', async () => {
    const [alice, bob] = [pages[0]!, pages[1]!];
    nodeC = await startServer({ ...shared, ASTRAL_NODE_ID: 'node-c', ASTRAL_BOOTSTRAP_API_KEY: nodeA.apiKey });
    // Bob opens a second tab, on node C, and calls Alice from it: node C owns the call and hosts its media.
    const bobOnC = await open(browsers.bob, nodeC.url, bobToken);
    const callId = await call(bobOnC, alice, '1001');
    assert.equal(await redisClient.get(`astral:call:${callId}`), 'node-c');
    await assertTones(bobOnC, BOB_HZ, alice, ALICE_HZ);

    nodeC.process.kill('SIGKILL');
    const record = await completedRecord(nodeA, callId);
    assert.equal(record.disposition, 'FAILED');
    assert.equal(record.end_reason, 'node_lost');
    await alice.waitState('ready');
    const ended = (await alice.events('astral-call-ended')).at(-1)!;
    assert.deepEqual([ended.detail.callId, ended.detail.reason], [callId, 'node_lost']);

    // Alice's media is back on node A: she calls Bob's tab there.
    await call(alice, bob, '1002');
    await assertTones(alice, ALICE_HZ, bob, BOB_HZ);
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
  });
  test("a node holding one member of a channel's call dies: the call goes on for the others, who still hear each other", async () => {
    const [alice, bob] = [pages[0]!, pages[1]!]; // both on node A now
    nodeD = await startServer({ ...shared, ASTRAL_NODE_ID: 'node-d', ASTRAL_BOOTSTRAP_API_KEY: nodeA.apiKey });
    const carol = await mintTokenBody(nodeA, 'carol', { display_name: 'Carol', extension: '1003' });
    const ids = await Promise.all([mintTokenBody(nodeA, 'alice', { display_name: 'Alice', extension: '1001' }), mintTokenBody(nodeA, 'bob', { display_name: 'Bob', extension: '1002' })]).then((bodies) => bodies.map((b) => b.user_id));
    const made = await api(nodeA, '/api/v1/channels', { method: 'POST', body: JSON.stringify({ recipients: [...ids, carol.user_id], name: 'three' }) });
    assert.equal(made.status, 201, await made.clone().text());
    const channelId = ((await made.json()) as { id: string }).id;
    const carolOnD = await open(browsers.alice, nodeD.url, carol.token);
    const callId = (await alice.invoke('joinChannel', channelId)) as string;
    await alice.waitState('in-call');
    assert.equal(await bob.invoke('joinChannel', channelId), callId);
    assert.equal(await carolOnD.invoke('joinChannel', channelId), callId, "Carol, on node D, joins node A's call");
    await Promise.all([bob.waitState('in-call'), carolOnD.waitState('in-call')]);
    assert.equal((await liveLegs(nodeA)).filter((l) => l.linkedid === callId).length, 3);

    nodeD.process.kill('SIGKILL');
    // Until node A sees node D lost (its entry outlives it by up to the 2 s TTL), node A's live listing, which asks every
    // node, still answers: with what the others said, naming node D as unanswered.
    const meanwhile = await api(nodeA, '/api/v1/calls/live');
    assert.equal(meanwhile.status, 200, await meanwhile.clone().text());
    assert.equal(meanwhile.headers.get('x-astral-unanswered-nodes'), 'node-d');
    assert.equal(((await meanwhile.json()) as { linkedid: string }[]).filter((l) => l.linkedid === callId).length, 3, "node A's own legs of its call are listed");
    // Carol's leg leaves once node A sees node D lost and her reconnect grace runs out; the call is not ended.
    for (;;) {
      const res = await api(nodeA, '/api/v1/calls/live');
      assert.equal(res.status, 200, await res.clone().text());
      const legs = ((await res.json()) as { channel_id: string; linkedid: string }[]).filter((l) => l.linkedid === callId).map((l) => l.channel_id.split('-')[0]);
      if (!legs.includes('WebRTC/1003')) {
        assert.equal(legs.length, 2, `Alice and Bob stay in the call: ${legs.join(', ')}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(await alice.state(), 'in-call');
    assert.equal(await bob.state(), 'in-call');
    await assertTones(alice, ALICE_HZ, bob, BOB_HZ);
    await bob.invoke('hangup');
    await alice.invoke('hangup');
    const record = await completedRecord(nodeA, callId);
    assert.deepEqual([record.disposition, record.end_reason], ['ANSWERED', 'hangup']);
  });
});
