// End to end: blind and attended transfers between three widgets, from the UI and the REST API, with audio checks.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

// Each party's microphone has its own tone, so what each hears names who it is connected to.
const HZ = { alice: 440, bob: 1000, carol: 660 } as const;
type Name = keyof typeof HZ;

let stage: Stage;
let server: RunningServer;
const tokens = {} as Record<Name, string>;
const phone = (name: Name) => stage.phone(name, tokens[name]);

const hears = (p: PhonePage, name: Name) => p.expectTone(HZ[name]);

async function connect(alice: PhonePage, bob: PhonePage): Promise<void> {
  await alice.invoke('call', 'bob');
  await bob.waitState('incoming');
  await bob.invoke('answer');
  await alice.waitState('in-call');
  await hears(alice, 'bob');
}

const click = (p: PhonePage, part: string) => p.page.click(`astral-phone >> [part="${part}"]`);

/** Alice and Bob talk; Bob starts an attended transfer to Carol from the widget's panel, and Carol answers. */
async function consultFromUi(alice: PhonePage, bob: PhonePage, carol: PhonePage): Promise<void> {
  await connect(alice, bob);
  await bob.page.fill('astral-phone >> [part="transfer-input"]', 'carol');
  await click(bob, 'consult-button');
  await carol.waitState('incoming');
  await carol.invoke('answer');
}
const remoteOf = (p: PhonePage) =>
  p.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { activeCall: { remote: { identity: string } } | null } }).client.activeCall?.remote.identity);

async function bobsLeg(): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/calls/live`, { headers: { 'x-api-key': server.apiKey } });
  const legs = (await res.json()) as { channel_id: string }[];
  const leg = legs.find((l) => l.channel_id.startsWith('WebRTC/bob-'));
  assert.ok(leg, JSON.stringify(legs));
  return leg.channel_id;
}

const control = (path: string, body: unknown) =>
  fetch(`${server.url}/api/v1/calls/${path}`, {
    method: 'POST',
    headers: { 'x-api-key': server.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));

describe('transfers', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: HZ });
    server = stage.server;
    for (const name of Object.keys(HZ) as Name[]) tokens[name] = await mintToken(server, name);
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('blind transfer from the UI: Bob sends Alice to Carol and leaves', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await connect(alice, bob);
    await bob.page.fill('astral-phone >> [part="transfer-input"]', 'carol');
    await click(bob, 'transfer-button');
    const ended = await bob.waitEvent('astral-call-ended');
    assert.equal(ended.detail.reason, 'transferred');
    await bob.waitState('ready');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await hears(alice, 'carol');
    await hears(carol, 'alice');
    assert.equal(await remoteOf(alice), 'carol');
  });

  test('attended transfer over REST: Alice waits on hold while Bob consults Carol, then completes', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await connect(alice, bob);
    const leg = await bobsLeg();
    const started = await control('transfer', { call_id: leg, destination: 'carol', type: 'attended' });
    assert.deepEqual([started.status, started.body.status], [200, 'success']);
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await hears(bob, 'carol');
    await hears(carol, 'bob');
    const held = await alice.heardAudio(800);
    assert.ok(held.rms < 0.005, `Alice waits in silence on hold: ${held.rms}`);

    const done = await control('transfer/complete', { call_id: leg });
    assert.deepEqual([done.status, done.body.status], [200, 'success']);
    await bob.waitState('ready');
    await hears(alice, 'carol');
    await hears(carol, 'alice');
    assert.equal(await remoteOf(alice), 'carol');
    assert.equal(await remoteOf(carol), 'alice');
    const linkedid = ((await (await fetch(`${server.url}/api/v1/calls/live`, { headers: { 'x-api-key': server.apiKey } })).json()) as { linkedid: string }[])[0]!.linkedid;
    await alice.invoke('hangup');
    await carol.waitState('ready');
    const journey = (await (await fetch(`${server.url}/api/v1/calls/${linkedid}/journey`, { headers: { 'x-api-key': server.apiKey } })).json()) as { steps: { action: string; status: string; to: string }[] };
    const transfers = journey.steps.filter((s) => s.action === 'Transfer').map((s) => `${s.status}->${s.to}`);
    assert.deepEqual(transfers, ['attended->carol', 'completed->carol']);
  });

  test('attended transfer cancelled from the UI: Carol is dropped, Alice and Bob talk again', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await consultFromUi(alice, bob, carol);
    await bob.page.waitForSelector('astral-phone >> [part="transfer-complete-button"]:not([disabled])');
    await click(bob, 'transfer-cancel-button');
    await carol.waitState('ready');
    await new Promise((r) => setTimeout(r, 500));
    await hears(alice, 'bob');
    await hears(bob, 'alice');
  });

  test('attended transfer completes when the transferer simply hangs up after the target answered', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await consultFromUi(alice, bob, carol);
    await hears(bob, 'carol');
    await bob.invoke('hangup');
    await bob.waitState('ready');
    await hears(alice, 'carol');
    await hears(carol, 'alice');
  });

  test('transfer errors: unknown target, busy target, and no transfer to complete', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await connect(alice, bob);
    const leg = await bobsLeg();
    const unknown = await control('transfer', { call_id: leg, destination: 'nobody', type: 'blind' });
    assert.deepEqual([unknown.status, unknown.body.code], [404, 'not_found']);
    const missing = await control('transfer', { call_id: 'WebRTC/bob-ffffffff', destination: 'carol', type: 'blind' });
    assert.equal(missing.status, 404);
    const badType = await control('transfer', { call_id: leg, destination: 'carol', type: 'warm' });
    assert.equal(badType.status, 400);
    assert.equal((await control('transfer/complete', { call_id: leg })).status, 409);
    await carol.invoke('call', 'alice'); // Alice is busy with Bob: Carol gets BUSY, and stays free
    await carol.waitState('ready');
    assert.equal(await alice.state(), 'in-call');
  });
});
