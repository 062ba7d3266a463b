// End to end: queues (ring-all, round-robin with memory, overflow) and an IVR whose prompt plays until a digit routes the call.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';
import { toneFile } from '../helpers/tone.js';

const HZ = { alice: 440, bob: 1000, carol: 660 } as const;
const PROMPT_HZ = 800;
type Name = keyof typeof HZ;

let stage: Stage;
let server: RunningServer;
const tokens = {} as Record<Name, string>;

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${server.url}/api/v1/${path}`, {
    method,
    headers: { 'x-api-key': server.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => null)) as Record<string, unknown> }));

async function phones(): Promise<Record<Name, PhonePage>> {
  const names = Object.keys(HZ) as Name[];
  const pages = await Promise.all(names.map((name) => stage.phone(name, tokens[name])));
  return Object.fromEntries(names.map((name, i) => [name, pages[i]!])) as Record<Name, PhonePage>;
}

const hears = (p: PhonePage, hz: number) => p.expectTone(hz);

describe('queues and IVR', { timeout: 150_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: HZ });
    server = stage.server;
    const exts = { alice: '1001', bob: '1002', carol: '1003' } as const;
    for (const name of Object.keys(HZ) as Name[]) tokens[name] = await mintToken(server, name, { extension: exts[name] });
    assert.equal((await admin('POST', 'queues', { number: '5001', name: 'Sales', strategy: 'ring-all', members: ['1002', '1003'] })).status, 201);
    assert.equal((await admin('POST', 'queues', { number: '5002', name: 'Support', strategy: 'round-robin', members: ['1002', '1003'] })).status, 201);
    assert.equal((await admin('POST', 'queues', { number: '5004', name: 'Private', strategy: 'ring-all', members: ['1003'], record: false })).status, 201);
    assert.equal((await admin('POST', 'queues', { number: '5003', name: 'Billing', strategy: 'longest-idle', members: ['1003'], ring_timeout: 5, overflow: '1002' })).status, 201);
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), PROMPT_HZ, 2)).toString('base64');
    const ivr = await admin('POST', 'ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': '1002', '2': '5001' } });
    assert.equal(ivr.status, 201);
    assert.ok((ivr.body.prompt_seconds as number) > 1.9);
  });
  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('ring-all rings every free member; the first to answer takes the call', async () => {
    const { alice, bob, carol } = await phones();
    await alice.invoke('call', '5001');
    await Promise.all([bob.waitState('incoming'), carol.waitState('incoming')]);
    await carol.invoke('answer');
    await bob.waitState('ready');
    await hears(alice, HZ.carol);
    await hears(carol, HZ.alice);
  });

  test('round-robin rings one member at a time and remembers where it left off', async () => {
    const { alice, bob, carol } = await phones();
    await alice.invoke('call', '5002');
    await bob.waitState('incoming');
    assert.equal(await carol.state(), 'ready', 'one member at a time');
    await bob.invoke('decline');
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await hears(alice, HZ.carol);
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), carol.waitState('ready')]);
    await alice.invoke('call', '5002'); // carol was tried last: bob is next
    await bob.waitState('incoming');
    assert.equal(await carol.state(), 'ready');
    await bob.invoke('answer');
    await hears(alice, HZ.bob);
  });

  test('a queue created with record: false does not record its calls', async () => {
    const { alice, carol } = await phones();
    const callId = (await alice.invoke('call', '5004')) as string;
    await carol.waitState('incoming');
    await carol.invoke('answer');
    await hears(alice, HZ.carol);
    await alice.invoke('hangup');
    await carol.waitState('ready');
    assert.equal((await admin('GET', `calls/${callId}/recording`)).status, 404);
  });

  test('a queue nobody answers overflows to its overflow destination', async () => {
    const { alice, bob, carol } = await phones();
    await alice.invoke('call', '5003');
    await carol.waitState('incoming');
    await carol.invoke('decline');
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await hears(alice, HZ.bob);
  });

  test('the IVR answers, plays its prompt, and a DTMF digit routes the caller', async () => {
    const { alice, bob } = await phones();
    const callId = (await alice.invoke('call', '6001')) as string;
    await alice.waitState('in-call');
    await hears(alice, PROMPT_HZ);
    await alice.invoke('sendDtmf', '9'); // not a choice: the prompt goes on
    await hears(alice, PROMPT_HZ);
    await alice.invoke('sendDtmf', '1');
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await hears(alice, HZ.bob);
    await hears(bob, HZ.alice);
    await alice.invoke('hangup');
    await bob.waitState('ready');
    const journey = await admin('GET', `calls/${callId}/journey`);
    const actions = (journey.body.steps as { action: string; status: string }[]).map((s) => `${s.action}:${s.status}`);
    assert.deepEqual(actions.slice(0, 7), ['IVR:answered', 'DTMF:9', 'IVR:invalid choice 9', 'DTMF:1', 'IVR:choice 1', 'Dial:ringing', 'Bridged:answered']);
    assert.equal(journey.body.answered_by, '1002');
  });

  test('click-to-call into a queue: the agent answers first, then the queue rings its members', async () => {
    const { alice, bob, carol } = await phones();
    const res = await fetch(`${server.url}/api/v1/calls/click-to-call`, {
      method: 'POST',
      headers: { 'x-api-key': server.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ from: '1001', to: '5001', to_type: 'queue' }),
    });
    assert.equal(res.status, 200);
    await alice.waitState('incoming');
    await alice.invoke('answer');
    await Promise.all([bob.waitState('incoming'), carol.waitState('incoming')]);
    await bob.invoke('answer');
    await hears(alice, HZ.bob);
  });

  test('admin API validates queues and menus and frees numbers on delete', async () => {
    assert.equal((await admin('POST', 'queues', { number: '5001', name: 'Dup', strategy: 'ring-all', members: ['1002'] })).status, 409);
    assert.equal((await admin('POST', 'queues', { number: '1002', name: 'Ext clash', strategy: 'ring-all', members: ['1003'] })).status, 409);
    assert.equal((await admin('POST', 'queues', { number: '5009', name: 'Bad', strategy: 'random', members: ['1002'] })).status, 400);
    assert.equal((await admin('POST', 'ivr', { number: '6009', name: 'Bad', prompt_wav: 'bm90IGEgd2F2IGZpbGU=', options: { '1': '1002' } })).status, 400);
    assert.equal((await admin('POST', 'ivr', { number: '6009', name: 'Bad', prompt_wav: 'bm90IGEgd2F2IGZpbGU=', options: { '12': '1002' } })).status, 400);
    const list = await admin('GET', 'queues');
    assert.deepEqual((list.body as unknown as { number: string }[]).map((q) => q.number), ['5001', '5002', '5003', '5004']);
    assert.equal((await admin('DELETE', 'queues/5003')).status, 204);
    assert.equal((await admin('DELETE', 'queues/5003')).status, 404);
    assert.equal((await admin('DELETE', 'ivr/5001')).status, 404, 'a queue is not an IVR menu');
  });
});
