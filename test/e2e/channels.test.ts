// End to end: a bot rings widget users in a channel through REST; they talk through the SFU; the call moves region mid-call.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { PhonePage } from '../helpers/phone.js';
import { mintTokenBody, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const REGIONS = [
  { id: 'eu-central', name: 'EU Central', emoji: '\u{1F1E9}\u{1F1EA}', workers: [0] },
  { id: 'us-east', name: 'US East', emoji: '\u{1F1FA}\u{1F1F8}', workers: [1] },
];

let stage: Stage;
let server: RunningServer;
let bot: { id: string; token: string };
const users: Record<string, { token: string; user_id: string }> = {};
let channelId: string;

async function rest(method: string, path: string, auth: Record<string, string>, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const asBot = () => ({ authorization: `Bot ${bot.token}` });

const phone = (browser: 'a' | 'b', name: string) => stage.phone(browser, users[name]!.token);

const activeCall = (p: PhonePage) =>
  p.page.evaluate(() => (document.getElementById('phone') as unknown as { client: { activeCall: { id: string; region?: string } | null } }).client.activeCall);

describe('channel calls rung by a bot', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { a: 440, b: 1000 }, env: { ASTRAL_WORKERS: '2', ASTRAL_REGIONS: JSON.stringify(REGIONS) } });
    server = stage.server;
    const created = await rest('POST', '/api/v1/bots', { 'x-api-key': server.apiKey }, { name: 'dispatcher' });
    assert.equal(created.status, 201);
    bot = created.body as typeof bot;
    for (const name of ['ana', 'ben', 'cy']) users[name] = await mintTokenBody(server, name);
    const channel = await rest('POST', '/api/v1/channels', asBot(), {
      recipients: [bot.id, users.ana!.user_id, users.ben!.user_id, users.cy!.user_id],
      name: 'support',
    });
    assert.equal(channel.status, 201);
    channelId = (channel.body as { id: string }).id;
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('ring two, stop one, the other accepts and talks; PATCH region moves the live call without a re-dial', async () => {
    const [ana, ben, cy] = [await phone('a', 'ana'), await phone('b', 'ben'), await phone('a', 'cy')];
    const callId = (await ana.invoke('joinChannel', channelId)) as string;
    await ana.waitState('in-call');

    assert.equal((await rest('POST', `/api/v1/channels/${channelId}/call/ring`, asBot(), { recipients: [users.ben!.user_id, users.cy!.user_id] })).status, 204);
    await Promise.all([ben.waitState('incoming'), cy.waitState('incoming')]);
    const rung = await ben.waitEvent('astral-incoming');
    assert.equal(rung.detail.callId, callId);

    assert.equal((await rest('POST', `/api/v1/channels/${channelId}/call/stop-ringing`, asBot(), { recipients: [users.cy!.user_id] })).status, 204);
    await cy.waitState('ready');
    assert.equal(await ben.state(), 'incoming', 'stop-ringing one recipient leaves the other ringing');

    await ben.invoke('answer');
    await ben.waitState('in-call');
    const [anaHears, benHears] = await Promise.all([ana.heardAudio(), ben.heardAudio()]);
    assert.ok(Math.abs(anaHears.peakHz - 1000) < 25 && anaHears.rms > 0.01, `Ana hears Ben: ${JSON.stringify(anaHears)}`);
    assert.ok(Math.abs(benHears.peakHz - 440) < 25 && benHears.rms > 0.01, `Ben hears Ana: ${JSON.stringify(benHears)}`);

    const regionBefore = (await activeCall(ben))!.region;
    assert.ok(regionBefore && REGIONS.some((r) => r.id === regionBefore), `the widget shows the call's region: ${regionBefore}`);
    const target = REGIONS.find((r) => r.id !== regionBefore)!.id;
    const statesBefore = (await ben.events('astral-state')).length;
    const packetsBefore = (await ben.stats()).packetsReceived!;

    assert.equal((await rest('PATCH', `/api/v1/channels/${channelId}/call`, asBot(), { region: target })).status, 204);
    for (const p of [ana, ben]) {
      await p.page.waitForFunction(
        (t) => (document.getElementById('phone') as unknown as { client: { activeCall: { region?: string } | null } }).client.activeCall?.region === t,
        target,
        { timeout: 5000 },
      );
    }
    const shown = await ben.page.evaluate(() => document.getElementById('phone')!.shadowRoot!.querySelector('[part="region"]')?.textContent ?? '');
    assert.match(shown, new RegExp(target));

    // Audio resumes on the new region's router: fresh inbound packets keep rising, and the tone is back.
    const deadline = Date.now() + 5000;
    while ((await ben.stats()).packetsReceived! <= 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const p1 = (await ben.stats()).packetsReceived!;
    await new Promise((r) => setTimeout(r, 1000));
    const p2 = (await ben.stats()).packetsReceived!;
    assert.ok(p2 > p1 + 20, `packets keep rising after the move: ${p1} -> ${p2} (before the move: ${packetsBefore})`);
    const [anaAfter, benAfter] = await Promise.all([ana.heardAudio(800), ben.heardAudio(800)]);
    assert.ok(Math.abs(anaAfter.peakHz - 1000) < 25 && anaAfter.rms > 0.01, `Ana hears Ben after the move: ${JSON.stringify(anaAfter)}`);
    assert.ok(Math.abs(benAfter.peakHz - 440) < 25 && benAfter.rms > 0.01, `Ben hears Ana after the move: ${JSON.stringify(benAfter)}`);

    // Deafen: Ben stops receiving; undeafen brings the audio back.
    const deafen = (on: boolean) => ben.page.evaluate((on) => (document.getElementById('phone') as unknown as { client: { setDeafened(d: boolean): Promise<void> } }).client.setDeafened(on), on);
    await deafen(true);
    await new Promise((r) => setTimeout(r, 300));
    const d1 = (await ben.stats()).packetsReceived!;
    await new Promise((r) => setTimeout(r, 1000));
    const d2 = (await ben.stats()).packetsReceived!;
    assert.ok(d2 - d1 < 5, `deafened: no audio arrives (${d1} -> ${d2})`);
    await deafen(false);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok((await ben.stats()).packetsReceived! > d2 + 20, 'undeafened: audio flows again');

    assert.equal((await activeCall(ben))!.id, callId, 'same call: nobody re-dialled');
    assert.equal((await ben.events('astral-state')).length, statesBefore, 'the phone never left in-call');
    assert.equal(await ben.state(), 'in-call');
  });
});
