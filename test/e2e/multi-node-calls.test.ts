// End to end on two nodes (Redis + PostgreSQL, test/helpers/nodes.ts): the calls that do not start as one widget dialling
// another — click-to-call sent to one node for widgets on the other, a blind transfer by REST on the node that does not
// own the call, an attended transfer to a widget on the node not owning the call, a user busy on one node rung by a call
// of the other, two widgets on different nodes joining one channel's call, a widget on node B calling the local agent
// (on either node), a SIP carrier (SIPp) calling node A for a
// widget on node B, and a widget on node B dialling a phone number whose call node A owns and sends to the carrier.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { defaultInstanceId, turnsOf, v1, waitServiceCall } from '../helpers/agents.js';
import { launchBrowser } from '../helpers/browser.js';
import { openCallerPhone } from '../helpers/mic.js';
import { api, assertTones, call, completedRecord, liveLegs, startTwoNodes, type TwoNodes } from '../helpers/nodes.js';
import type { PhonePage } from '../helpers/phone.js';
import { hasTone, isNotSilent } from '../helpers/rtp-capture.js';
import { mintToken, mintTokenBody, type RunningServer } from '../helpers/server.js';
import { speak } from '../helpers/speech.js';
import { startSipp, type RunningSipp } from '../helpers/sipp.js';
import { toneFile } from '../helpers/tone.js';
import { captureAtCarrier, configureTrunk, lastEndedCall, trunkStatusIs } from '../helpers/trunks.js';

const HZ = { alice: 440, bob: 1000, carol: 700 };

let nodes: TwoNodes;
let browsers: Record<keyof typeof HZ, Browser>;
const tokens: Record<string, string> = {};
const sipps: RunningSipp[] = [];

const post = (server: RunningServer, path: string, body: unknown) => api(server, path, { method: 'POST', body: JSON.stringify(body) });
const otherThan = (nodeId: string | null) => (nodeId === 'node-a' ? nodes.b : nodes.a);

/** The live leg of `extension` in call `callId`, as `server` lists it. */
async function legOf(server: RunningServer, callId: string, extension: string): Promise<string> {
  const leg = (await liveLegs(server)).find((l) => l.linkedid === callId && l.channel_id.startsWith(`WebRTC/${extension}-`));
  assert.ok(leg, `${server.url} lists ${extension}'s leg of ${callId}`);
  return leg.channel_id;
}

/** How many times each node's call history lists `callId`. */
async function historyCounts(callId: string): Promise<number[]> {
  return Promise.all(
    [nodes.a, nodes.b].map(async (node) => {
      const res = await api(node, '/api/v1/calls?limit=50');
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: { id: string }[] }).data.filter((c) => c.id === callId).length;
    }),
  );
}

/** Waits until every node's Redis entry reports these live calls (what the node selector weighs). */
async function loadsAre(want: Record<string, number>): Promise<void> {
  for (;;) {
    const entries = await Promise.all(Object.keys(want).map((id) => nodes.redisClient.get(`astral:node:${id}`)));
    if (entries.every((raw, i) => raw && (JSON.parse(raw) as { load: number }).load === Object.values(want)[i])) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `identity`'s widget, on node B through the balancer with a steerable microphone, calls akylai: the caller hears the
 * greeting, the agent answers the spoken question, both nodes list the live call (seed 003) and its seed 004 record,
 * and the call history has it answered. Returns the node that owned the call.
 */
async function callAgent(identity: string, extension: string): Promise<string | null> {
  const instanceId = await defaultInstanceId(nodes.a);
  const { phone, audio } = await openCallerPhone(browsers.alice, nodes.site.url, nodes.balancer.url, tokens[identity]!);
  nodes.pages.push(phone);
  await phone.waitState('ready');
  const question = await speak('what are your opening hours');
  const callId = (await phone.invoke('call', 'agent:akylai')) as string;
  await audio.startMeter();
  await phone.waitState('in-call', 10_000);
  const owner = await nodes.ownerOf(callId);

  const greetingAt = await audio.waitForSound({ ms: 300, timeoutMs: 10_000 });
  await audio.waitForSilence({ from: greetingAt, ms: 800, timeoutMs: 10_000 });
  assert.ok((await audio.energy(greetingAt, greetingAt + 1000)) > 0.01, 'the caller hears the greeting');
  let serviceId = '';
  for (const node of [nodes.a, nodes.b]) {
    const active = await v1(node, 'GET', `/v1/instances/${instanceId}/channels/voice/calls`);
    assert.equal(active.status, 200, JSON.stringify(active.body));
    const found = (active.body as { call_id: string; caller_phone: string }[]).find((c) => c.caller_phone === extension);
    assert.ok(found, `${node.url} lists the live agent call: ${JSON.stringify(active.body)}`);
    serviceId = found.call_id;
  }
  // The agent hears the caller: it answers the question the caller's microphone speaks.
  const asked = await audio.say(question.wav);
  await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
  const answered = await waitServiceCall(otherThan(owner), serviceId, (c) => turnsOf(c.transcript).some(([r, t]) => r === 'agent' && /nine in the morning/i.test(t)));
  assert.ok(turnsOf(answered.transcript).some(([r, t]) => r === 'user' && /opening hours/i.test(t)), answered.transcript);
  await phone.invoke('hangup');
  await phone.waitState('ready');
  for (const node of [nodes.a, nodes.b]) {
    const ended = await waitServiceCall(node, serviceId);
    assert.deepEqual([ended.status, ended.agent, ended.phone], ['completed', 'akylai', extension]);
  }
  assert.equal((await completedRecord(otherThan(owner), callId)).disposition, 'ANSWERED');
  return owner;
}

async function hangUp(phone: PhonePage, ...others: PhonePage[]): Promise<void> {
  await phone.invoke('hangup');
  await Promise.all([phone, ...others].map((p) => p.waitState('ready')));
}

describe('calls across two nodes: click-to-call, transfer, agent and SIP legs', { timeout: 240_000 }, () => {
  before(async () => {
    nodes = await startTwoNodes({ sip: true });
    const fixtures = join(tmpdir(), 'astral-fixtures');
    const [alice, bob, carol] = await Promise.all([HZ.alice, HZ.bob, HZ.carol].map((hz) => launchBrowser(toneFile(fixtures, hz))));
    browsers = { alice: alice!, bob: bob!, carol: carol! };
    tokens.alice = await mintToken(nodes.a, 'alice', { display_name: 'Alice', extension: '1001' });
    tokens.bob = await mintToken(nodes.b, 'bob', { display_name: 'Bob', extension: '1002' });
    tokens.carol = await mintToken(nodes.a, 'carol', { display_name: 'Carol', extension: '1003' });
  });
  afterEach(async () => {
    await Promise.all(nodes.pages.splice(0).map((p) => p.close().catch(() => undefined)));
    await Promise.all(sipps.splice(0).map((s) => s.stop()));
  });
  after(async () => {
    await nodes?.close();
    await Promise.all(Object.values(browsers ?? {}).map((b) => b.close()));
  });

  test('click-to-call sent to node A rings Bob on node B first, then Alice on node A; tones both ways, history lists it once on both nodes', async () => {
    const alice = await nodes.open(browsers.alice, nodes.a.url, tokens.alice!);
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const res = await post(nodes.a, '/api/v1/calls/click-to-call', { from: '1002', to: '1001', to_type: 'extension' });
    assert.equal(res.status, 200, await res.text());
    const rung = await bob.waitEvent('astral-incoming');
    const callId = rung.detail.callId as string;
    assert.equal(await alice.state(), 'ready', 'Alice is not rung before Bob answers');
    await bob.invoke('answer');
    await alice.waitState('incoming');
    await alice.invoke('answer');
    await Promise.all([alice.waitState('in-call'), bob.waitState('in-call')]);
    await assertTones(bob, HZ.bob, alice, HZ.alice);
    for (const node of [nodes.a, nodes.b]) assert.equal((await liveLegs(node)).filter((l) => l.linkedid === callId).length, 2, `both legs listed by ${node.url}`);
    await hangUp(alice, bob);
    const record = await completedRecord(nodes.b, callId);
    assert.equal(record.disposition, 'ANSWERED');
    assert.deepEqual(await historyCounts(callId), [1, 1]);
  });

  test('click-to-call sent to node A for two widgets on node B: node A owns the call, both media move there, tones both ways', async () => {
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    assert.equal(await nodes.redisClient.hlen('astral:sessions:node-b'), 2, 'both sockets are on node B');
    const res = await post(nodes.a, '/api/v1/calls/click-to-call', { from: '1003', to: '1002' });
    assert.equal(res.status, 200, await res.text());
    const callId = (await carol.waitEvent('astral-incoming')).detail.callId as string;
    assert.equal(await nodes.ownerOf(callId), 'node-a');
    await carol.invoke('answer');
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await Promise.all([bob.waitState('in-call'), carol.waitState('in-call')]);
    await assertTones(carol, HZ.carol, bob, HZ.bob);
    const hungUp = await post(nodes.b, '/api/v1/calls/hangup-channel', { channel_id: await legOf(nodes.b, callId, '1002') });
    assert.equal(hungUp.status, 200, await hungUp.text());
    await Promise.all([bob.waitState('ready'), carol.waitState('ready')]);
    assert.equal((await completedRecord(nodes.b, callId)).disposition, 'ANSWERED');
    assert.deepEqual(await historyCounts(callId), [1, 1]);
  });

  test('Bob is in a call on node B when a call owned by node A rings him: the caller gets BUSY and Bob\'s call keeps its audio', async () => {
    const alice = await nodes.open(browsers.alice, nodes.a.url, tokens.alice!);
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    const busyCall = await call(bob, carol, '1003');
    assert.equal(await nodes.ownerOf(busyCall), 'node-b');
    await loadsAre({ 'node-a': 0, 'node-b': 1 });
    const callId = (await alice.invoke('call', '1002')) as string;
    await alice.waitState('ready');
    assert.equal(await nodes.ownerOf(callId), null, 'the call is over');
    const ended = (await alice.events('astral-call-ended')).at(-1)!;
    assert.deepEqual([ended.detail.callId, ended.detail.reason], [callId, 'busy']);
    assert.equal((await completedRecord(nodes.b, callId)).disposition, 'BUSY');
    assert.equal(await bob.state(), 'in-call', 'Bob was not rung');
    await assertTones(bob, HZ.bob, carol, HZ.carol);
    await hangUp(bob, carol);
  });

  test('a blind transfer by REST on the node not owning the call: Bob (node B) hands Alice (node A) to Carol, who hears her', async () => {
    const alice = await nodes.open(browsers.alice, nodes.a.url, tokens.alice!);
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    const callId = await call(alice, bob, '1002');
    await assertTones(alice, HZ.alice, bob, HZ.bob);
    const other = otherThan(await nodes.ownerOf(callId));
    const res = await post(other, '/api/v1/calls/transfer', { call_id: await legOf(other, callId, '1002'), destination: '1003', type: 'blind' });
    assert.equal(res.status, 200, await res.text());
    await bob.waitState('ready');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await Promise.all([alice.waitState('in-call'), carol.waitState('in-call')]);
    await assertTones(alice, HZ.alice, carol, HZ.carol);
    await hangUp(carol, alice);
    await completedRecord(other, callId);
    const journey = (await (await api(other, `/api/v1/calls/${callId}/journey`)).json()) as { steps: { action: string; status: string; to: string }[] };
    const transfers = journey.steps.filter((s) => s.action === 'Transfer').map((s) => `${s.status}->${s.to}`);
    assert.ok(transfers.some((t) => t.startsWith('blind->')), `the journey shows the transfer: ${JSON.stringify(journey.steps)}`);
  });

  test('an attended transfer across nodes: Bob (node B) consults Carol (node B) in a call node A owns, completes; Alice and Carol hear each other', async () => {
    const alice = await nodes.open(browsers.alice, nodes.a.url, tokens.alice!);
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    assert.equal(await nodes.redisClient.hlen('astral:sessions:node-b'), 2, "Bob's and Carol's sockets are on node B");
    await loadsAre({ 'node-a': 0, 'node-b': 0 });
    const callId = await call(alice, bob, '1002');
    assert.equal(await nodes.ownerOf(callId), 'node-a', 'the dialling node wins the tie');
    await assertTones(alice, HZ.alice, bob, HZ.bob);
    await bob.invoke('transfer', '1003', 'attended');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await carol.waitState('in-call');
    await assertTones(bob, HZ.bob, carol, HZ.carol); // consulting: Alice waits on hold
    await bob.invoke('completeTransfer');
    await bob.waitState('ready');
    await assertTones(alice, HZ.alice, carol, HZ.carol);
    await hangUp(carol, alice);
    assert.equal((await completedRecord(nodes.b, callId)).disposition, 'ANSWERED');
    const journey = (await (await api(nodes.b, `/api/v1/calls/${callId}/journey`)).json()) as { steps: { action: string; status: string; to: string }[] };
    const transfers = journey.steps.filter((s) => s.action === 'Transfer').map((s) => `${s.status}->${s.to}`);
    assert.deepEqual(transfers, ['attended->1003', 'completed->1003'], `the journey shows the attended transfer: ${JSON.stringify(journey.steps)}`);
  });

  test("Alice (node A) and Bob (node B) join one channel's voice: one call, owned by node A, Bob's media moved there; tones both ways; leaving ends it once", async () => {
    const [aliceId, bobId] = await Promise.all([
      mintTokenBody(nodes.a, 'alice', { display_name: 'Alice', extension: '1001' }),
      mintTokenBody(nodes.b, 'bob', { display_name: 'Bob', extension: '1002' }),
    ]).then((bodies) => bodies.map((b) => b.user_id));
    const made = await post(nodes.b, '/api/v1/channels', { recipients: [aliceId, bobId], name: 'across' });
    assert.equal(made.status, 201);
    const channelId = ((await made.json()) as { id: string }).id;
    const alice = await nodes.open(browsers.alice, nodes.a.url, tokens.alice!);
    const bob = await nodes.open(browsers.bob, nodes.b.url, tokens.bob!);
    const callId = (await alice.invoke('joinChannel', channelId)) as string;
    await alice.waitState('in-call');
    assert.equal((await bob.invoke('joinChannel', channelId)) as string, callId, 'Bob joins the call Alice started');
    await bob.waitState('in-call');
    const [channelKey] = await nodes.redisClient.keys(`astral:channel:*:${channelId}`);
    assert.equal(await nodes.redisClient.get(channelKey!), 'node-a');
    await assertTones(alice, HZ.alice, bob, HZ.bob);
    await bob.invoke('hangup');
    await bob.waitState('ready');
    assert.deepEqual((await liveLegs(nodes.b)).filter((l) => l.linkedid === callId).map((l) => l.channel_id.split('-')[0]), ['WebRTC/1001'], 'the call goes on with Alice');
    await hangUp(alice);
    assert.equal((await completedRecord(nodes.b, callId)).status, 'completed');
    assert.equal(await nodes.redisClient.get(channelKey!), null, "the channel's call ownership is released");
  });

  test('a widget on node B calls the local agent on node B: it greets the caller, answers what it hears, seed 004 lists the call on both nodes', async () => {
    await loadsAre({ 'node-a': 0, 'node-b': 0 });
    assert.equal(await callAgent('bob', '1002'), 'node-b', 'the dialling node wins the tie');
  });

  test('a widget on node B calls the local agent while node B is busier: the agent runs on node A, the caller hears it and it hears the caller', async () => {
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    await call(bob, carol, '1003');
    await loadsAre({ 'node-a': 0, 'node-b': 1 });
    assert.equal(await callAgent('alice', '1001'), 'node-a', 'the least loaded node takes the call');
    await hangUp(bob, carol);
  });

  test('a SIP carrier calls node A for an extension whose widget is on node B: it rings, answers, audio crosses both ways', async () => {
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    await configureTrunk(nodes.a, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [
      { number: '+15550001', destination: '1002', destination_type: 'extension' },
    ]);
    const sipp = await startSipp({ scenario: 'uac-call-pcap.xml', remote: `127.0.0.1:${nodes.sipPorts.a}`, service: '15550001', vars: { from: '+14155550123' }, timeoutS: 40, durationMs: 7000 });
    sipps.push(sipp);
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    const incoming = await bob.waitEvent('astral-incoming', 10_000);
    assert.equal((incoming.detail.from as { identity: string }).identity, '+14155550123', 'the caller id is the From user');
    await bob.invoke('answer');
    await bob.waitState('in-call');
    const heard = await bob.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the widget on node B hears the carrier: ${JSON.stringify(heard)}`);
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, result.log);
    const got = await heardByCarrier.stop();
    assert.ok(got.packets > 50 && isNotSilent(got.pcm), `the carrier received audio: ${got.packets} packets`);
    assert.ok(hasTone(got.pcm, HZ.bob), "it is the widget's 1000 Hz microphone");
    await bob.waitState('ready', 5_000);
    const last = await lastEndedCall(nodes.b);
    assert.deepEqual([last.direction, last.from_number, last.to_number, last.record.disposition], ['inbound', '+14155550123', '+15550001', 'ANSWERED']);
  });

  test('a widget on node B dials a phone number while node B is busier: node A owns the call and sends the INVITE to the carrier, audio crosses both ways', async () => {
    const bob = await nodes.open(browsers.bob, nodes.balancer.url, tokens.bob!);
    const carol = await nodes.open(browsers.carol, nodes.balancer.url, tokens.carol!);
    const alice = await nodes.open(browsers.alice, nodes.balancer.url, tokens.alice!);
    assert.equal(await nodes.redisClient.hlen('astral:sessions:node-b'), 3, 'every socket is on node B');
    await call(bob, carol, '1003');
    await loadsAre({ 'node-a': 0, 'node-b': 1 });
    const sipp = await startSipp({ scenario: 'uas-auth-answer-pcap.xml', vars: { user: 'astral', pass: 's3cret-pw' }, timeoutS: 40 });
    sipps.push(sipp);
    // Configured on node B: node A monitors it too (its OPTIONS ping) and reads it from the shared store to place the call.
    const trunkId = await configureTrunk(nodes.b, { name: 'carrier', host: '127.0.0.1', port: sipp.port, username: 'astral', password: 's3cret-pw', allowed_ips: ['127.0.0.1/32'] });
    await trunkStatusIs(nodes.a, trunkId, 'reachable');
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    const callId = (await alice.invoke('call', '+15557654321')) as string;
    assert.equal(await nodes.ownerOf(callId), 'node-a', 'the least loaded node takes the call');
    await alice.waitState('in-call', 10_000);
    await alice.receivesRtp(50);
    const heard = await alice.heardAudio(1000);
    assert.ok(heard.rms > 0.005, `the widget on node B hears the carrier through node A: ${JSON.stringify(heard)}`);
    await hangUp(alice);
    const result = await sipp.done;
    assert.ok(result.auth.length > 0 && result.auth.every((a) => a.valid), `digest answered with the trunk password: ${JSON.stringify(result.auth)}`);
    assert.ok(result.receivedRequests.includes('BYE'), `Astral sent BYE: ${result.receivedRequests}`);
    const invite = result.messages.find((m) => m.direction === 'received' && m.method === 'INVITE');
    assert.match(invite!.header('via')!, new RegExp(`:${nodes.sipPorts.a}\\b`), `node A's SIP port sent the INVITE: ${invite!.header('via')}`);
    assert.match(invite!.firstLine, /^INVITE sip:\+15557654321@/);
    const got = await heardByCarrier.stop();
    assert.ok(got.packets > 50 && isNotSilent(got.pcm), `the carrier received audio: ${got.packets} packets`);
    assert.ok(hasTone(got.pcm, HZ.alice), "it is the widget's 440 Hz microphone");
    const last = await lastEndedCall(nodes.b);
    assert.deepEqual([last.id, last.direction, last.from_number, last.to_number, last.record.disposition], [callId, 'outbound', '1001', '+15557654321', 'ANSWERED']);
    await assertTones(bob, HZ.bob, carol, HZ.carol);
    await hangUp(bob, carol);
  });
});
