// End to end: click-to-call rings `from` first, then `to`, and bridges two widgets; originate errors answer clearly.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

let stage: Stage;
let server: RunningServer;
const tokens: Record<string, string> = {};

const clickToCall = (body: unknown, key = server.apiKey) =>
  fetch(`${server.url}/api/v1/calls/click-to-call`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));

const phone = (browser: 'a' | 'b', name: string) => stage.phone(browser, tokens[name]!);

describe('click-to-call', { timeout: 90_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { a: 440, b: 1000 } });
    server = stage.server;
    tokens.agent = await mintToken(server, 'agent', { display_name: 'Agent', extension: '1001' });
    tokens.customer = await mintToken(server, 'customer', { display_name: 'Customer', extension: '1002' });
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('rings from first, then to, and connects them with audio both ways', async () => {
    const [agent, customer] = [await phone('a', 'agent'), await phone('b', 'customer')];
    const res = await clickToCall({ from: '1001', to: '1002', to_type: 'extension', caller_id: '+15550100' });
    assert.deepEqual(res, { status: 200, body: { status: 'success', message: 'Call initiated' } });
    const rung = await agent.waitEvent('astral-incoming');
    assert.equal(await customer.state(), 'ready', 'to is not rung before from answers');
    assert.match((rung.detail.from as { displayName: string }).displayName, /Customer/);
    await agent.invoke('answer');
    const incoming = await customer.waitEvent('astral-incoming');
    assert.equal((incoming.detail.from as { displayName: string }).displayName, '+15550100', 'caller_id is shown to the destination');
    await customer.invoke('answer');
    await Promise.all([agent.waitState('in-call'), customer.waitState('in-call')]);
    const [agentHears, customerHears] = await Promise.all([agent.heardAudio(), customer.heardAudio()]);
    assert.ok(Math.abs(agentHears.peakHz - 1000) < 25 && agentHears.rms > 0.01, JSON.stringify(agentHears));
    assert.ok(Math.abs(customerHears.peakHz - 440) < 25 && customerHears.rms > 0.01, JSON.stringify(customerHears));
    await customer.invoke('hangup');
    await agent.waitState('ready');
    const legsGone = await fetch(`${server.url}/api/v1/calls?to=1002&limit=1`, { headers: { 'x-api-key': server.apiKey } });
    const [last] = ((await legsGone.json()) as { data: { id: string; recording_url: string | null }[] }).data;
    assert.ok(last?.recording_url, 'click-to-call calls are recorded by default');
  });

  test('an operator hangs up one channel of a live call: both widgets return to ready', async () => {
    const [agent, customer] = [await phone('a', 'agent'), await phone('b', 'customer')];
    assert.equal((await clickToCall({ from: '1001', to: '1002', variables: { record: false, crm_id: 'A-17' } })).status, 200);
    await agent.waitState('incoming');
    await agent.invoke('answer');
    await customer.waitState('incoming');
    await customer.invoke('answer');
    await agent.expectTone(1000);
    const legs = (await (await fetch(`${server.url}/api/v1/calls/live`, { headers: { 'x-api-key': server.apiKey } })).json()) as { channel_id: string; linkedid: string }[];
    const customerLeg = legs.find((l) => l.channel_id.startsWith('WebRTC/1002-'))!;
    const res = await fetch(`${server.url}/api/v1/calls/hangup-channel`, {
      method: 'POST',
      headers: { 'x-api-key': server.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ channel_id: customerLeg.channel_id, reason: 'normal' }),
    });
    assert.equal(res.status, 200);
    await Promise.all([agent.waitState('ready'), customer.waitState('ready')]);
    const recording = await fetch(`${server.url}/api/v1/calls/${customerLeg.linkedid}/recording`, { headers: { 'x-api-key': server.apiKey } });
    assert.equal(recording.status, 404, 'variables.record = false: no recording');
  });

  test('from declining ends the attempt before to is ever rung', async () => {
    const [agent, customer] = [await phone('a', 'agent'), await phone('b', 'customer')];
    assert.equal((await clickToCall({ from: 'agent', to: 'customer' })).status, 200);
    await agent.waitState('incoming');
    await agent.invoke('decline');
    await agent.waitState('ready');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await customer.events('astral-incoming')).length, 0);
  });

  test('originate errors: not registered, unknown extension or agent, no trunk, bad input, bad key', async () => {
    await mintToken(server, 'never-online', { extension: '1009' });
    const offline = await clickToCall({ from: '1009', to: '1002' });
    assert.deepEqual(offline, { status: 409, body: { status: 'error', message: 'Failed to originate call: extension not registered' } });
    const unknown = await clickToCall({ from: '1009', to: '7777' });
    assert.deepEqual(unknown, { status: 404, body: { status: 'error', message: 'Failed to originate call: no extension "7777"' } });
    const noAgent = await clickToCall({ from: '1009', to: 'nobody', to_type: 'ai_agent' });
    assert.deepEqual(noAgent, { status: 404, body: { status: 'error', message: 'Failed to originate call: no agent "nobody"' } });
    const external = await clickToCall({ from: '1009', to: '1002', to_type: 'external' });
    assert.equal(external.status, 400);
    assert.equal(external.body.status, 'error');
    assert.match(external.body.message!, /SIP trunk/);
    for (const body of [{ to: '1002' }, { from: '1001', to: '1002', timeout: 1 }, { from: '1001', to: '1002', to_type: 'fax' }, { from: '1001', to: '1002', extra: 1 }]) {
      const res = await clickToCall(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'bad_request');
    }
    const noKey = await clickToCall({ from: '1001', to: '1002' }, 'ak_wrong_wrong_wrong_wrong');
    assert.equal(noKey.status, 401);
  });
});
