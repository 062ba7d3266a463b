// End to end: two <astral-phone>s on a customer's page call each other through a real server and real mediasoup.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { connectedCall, TONE_TOLERANCE_HZ } from '../helpers/phone.js';
import type { RunningServer } from '../helpers/server.js';
import { ALICE_HZ, BOB_HZ, startCallStage, type CallStage } from '../helpers/stage.js';

// Alice's microphone plays ALICE_HZ, Bob's (and Carol's) BOB_HZ: each side must hear the other's tone.
let stage: CallStage;
let server: RunningServer;

/** Alice's browser plays ALICE_HZ; Bob and Carol share the BOB_HZ one. */
const phone = (name: 'alice' | 'bob' | 'carol') => stage.phoneOf(name, name === 'alice' ? 'alice' : 'bob');

async function callRecord(id: string): Promise<Record<string, unknown>> {
  // Records are written right after the end event; poll briefly for the final write.
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${server.url}/api/v1/calls/${id}`, { headers: { 'x-api-key': server.apiKey } });
    const body = (await res.json()) as Record<string, unknown>;
    if (body.status === 'completed') return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`call ${id} never completed`);
}

describe('calls between two widgets', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startCallStage({ ASTRAL_RING_TIMEOUT: '3' }, { carol: { display_name: 'Carol' } });
    server = stage.server;
  });

  afterEach(() => stage.closePhones());
  after(() => stage?.close());

  test('an answered call carries each side\'s tone through the SFU, and the caller hangs up', async () => {
    const [alice, bob] = [await phone('alice'), await phone('bob')];
    const incoming = bob.waitEvent('astral-incoming');
    const callId = await connectedCall(alice, bob, 'bob', { ringing: true });
    assert.equal((await incoming).detail.callId, callId);
    assert.equal(((await incoming).detail.from as { identity: string }).identity, 'alice');

    const [aliceHears, bobHears] = await Promise.all([alice.heardAudio(), bob.heardAudio()]);
    assert.ok(Math.abs(aliceHears.peakHz - BOB_HZ) < TONE_TOLERANCE_HZ, `Alice should hear ${BOB_HZ} Hz, heard ${aliceHears.peakHz}`);
    assert.ok(Math.abs(bobHears.peakHz - ALICE_HZ) < TONE_TOLERANCE_HZ, `Bob should hear ${ALICE_HZ} Hz, heard ${bobHears.peakHz}`);
    assert.ok(aliceHears.rms > 0.01 && bobHears.rms > 0.01, `audio must not be silent: ${aliceHears.rms}, ${bobHears.rms}`);
    const [aliceStats, bobStats] = [await alice.stats(), await bob.stats()];
    for (const s of [aliceStats, bobStats]) {
      assert.ok(s.packetsReceived! > 20, `inbound RTP packets: ${JSON.stringify(s)}`);
      assert.ok(s.packetsSent! > 20, `outbound RTP packets: ${JSON.stringify(s)}`);
      assert.ok(s.bytesReceived! > 0);
    }

    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await bob.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
    const record = await callRecord(callId);
    assert.equal(record.disposition, 'ANSWERED');
    assert.equal(record.end_reason, 'hangup');
    assert.equal(record.from, '1001');
    assert.equal(record.to, '1002');
    assert.equal(record.direction, 'internal');
    assert.ok(record.answered_at && record.ended_at);
    assert.ok((record.duration as number) >= (record.talk_time as number));
  });

  test('the callee hangs up an answered call, dialled by extension', async () => {
    const [alice, bob] = [await phone('alice'), await phone('bob')];
    const callId = (await alice.invoke('call', '1002')) as string;
    await bob.waitState('incoming');
    await bob.invoke('answer');
    await alice.waitState('in-call');
    const heard = await alice.heardAudio(1000);
    assert.ok(Math.abs(heard.peakHz - BOB_HZ) < TONE_TOLERANCE_HZ, `Alice should hear Bob, heard ${heard.peakHz}`);
    await bob.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await alice.waitEvent('astral-call-ended');
    assert.deepEqual([ended.detail.callId, ended.detail.disposition], [callId, 'ANSWERED']);
    assert.equal((await callRecord(callId)).disposition, 'ANSWERED');
  });

  test('a declined call ends as BUSY on both sides', async () => {
    const [alice, bob] = [await phone('alice'), await phone('bob')];
    const callId = (await alice.invoke('call', 'bob')) as string;
    await bob.waitState('incoming');
    await bob.invoke('decline');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await alice.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'BUSY');
    const record = await callRecord(callId);
    assert.deepEqual([record.disposition, record.end_reason, record.answered_at], ['BUSY', 'declined', null]);
  });

  test('calling a user who is already in a call gets BUSY', async () => {
    const [alice, bob, carol] = [await phone('alice'), await phone('bob'), await phone('carol')];
    await connectedCall(alice, bob, 'bob', { ringing: true });
    const callId = (await carol.invoke('call', 'bob')) as string;
    const ended = await carol.waitEvent('astral-call-ended');
    assert.deepEqual([ended.detail.callId, ended.detail.disposition], [callId, 'BUSY']);
    await carol.waitState('ready');
    assert.equal(await bob.state(), 'in-call', 'the busy call must not disturb the running one');
    const record = await callRecord(callId);
    assert.deepEqual([record.disposition, record.end_reason], ['BUSY', 'busy']);
    await alice.invoke('hangup');
  });

  test('an unanswered call times out as NO ANSWER', async () => {
    const [alice, bob] = [await phone('alice'), await phone('bob')];
    const callId = (await alice.invoke('call', 'bob')) as string;
    await bob.waitState('incoming');
    await Promise.all([alice.waitState('ready', 8000), bob.waitState('ready', 8000)]);
    const record = await callRecord(callId);
    assert.deepEqual([record.disposition, record.end_reason, record.talk_time], ['NO ANSWER', 'timeout', 0]);
    assert.ok((record.duration as number) >= 2 && (record.duration as number) <= 5, `ring time ~3 s, got ${record.duration}`);
  });

  test('the caller cancels before an answer: NO ANSWER and the callee stops ringing', async () => {
    const [alice, bob] = [await phone('alice'), await phone('bob')];
    const callId = (await alice.invoke('call', 'bob')) as string;
    await bob.waitState('incoming');
    await alice.invoke('hangup');
    await Promise.all([alice.waitState('ready'), bob.waitState('ready')]);
    const ended = await bob.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'NO ANSWER');
    const record = await callRecord(callId);
    assert.deepEqual([record.disposition, record.end_reason], ['NO ANSWER', 'cancelled']);
  });

  test('a bad token shows an error instead of failing silently', async () => {
    const page = await stage.open('alice', 'not-a-token');
    const error = await page.waitEvent('astral-error');
    assert.equal(error.detail.code, 'unauthorized');
    assert.equal(await page.state(), 'disconnected');
    const shown = await page.page.evaluate(() => document.getElementById('phone')!.shadowRoot!.querySelector('[role="alert"]')?.textContent ?? '');
    assert.match(shown, /token/i);
  });

  test('dialling an unknown destination reports not_found and stays ready', async () => {
    const alice = await phone('alice');
    await assert.rejects(alice.invoke('call', 'nobody-here'), /no user or extension/);
    const error = await alice.waitEvent('astral-error');
    assert.equal(error.detail.code, 'not_found');
    assert.equal(await alice.state(), 'ready');
  });
});
