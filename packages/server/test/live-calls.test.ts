// Live legs and operator hang-up: GET /api/v1/calls/live and POST /api/v1/calls/hangup-channel against real sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ackRequest, ADMIN_KEY, api, createKey, serverForFile, widgetSocket, type TestServer } from './helpers.js';

let t: TestServer;
const sockets = serverForFile((server) => (t = server));

async function phone(identity: string, extension: string): Promise<Socket> {
  const socket = await widgetSocket(t, identity, { extension });
  sockets.push(socket);
  return socket;
}
const req = ackRequest;
const live = async () => (await api(t, 'GET', '/api/v1/calls/live', { key: ADMIN_KEY })).body as unknown as Record<string, unknown>[];

test('live legs follow a call from ringing to answered, and hanging up a leg ends the call for both', async () => {
  const alice = await phone('live-alice', '3001');
  const bob = await phone('live-bob', '3002');
  const ringing = new Promise((r) => alice.once('call:ringing', r));
  const { data } = await req(alice, 'call:dial', { destination: '3002' });
  await ringing;
  let legs = await live();
  assert.equal(legs.length, 2);
  for (const leg of legs) {
    assert.match(leg.channel_id as string, /^WebRTC\/300[12]-[0-9a-f]{8}$/);
    assert.deepEqual([leg.from, leg.to, leg.direction, leg.status, leg.linkedid], ['3001', '3002', 'internal', 'ringing', data!.callId]);
    assert.equal(typeof leg.duration, 'number');
  }
  assert.notEqual(legs[0]!.channel_id, legs[1]!.channel_id);

  assert.equal((await req(bob, 'call:answer', { callId: data!.callId })).ok, true);
  legs = await live();
  assert.deepEqual(legs.map((l) => l.status), ['answered', 'answered']);

  const bobLeg = legs.find((l) => (l.channel_id as string).startsWith('WebRTC/3002-'))!;
  const endedA = new Promise<{ disposition: string }>((r) => alice.once('call:ended', r));
  const endedB = new Promise<{ disposition: string }>((r) => bob.once('call:ended', r));
  const res = await api(t, 'POST', '/api/v1/calls/hangup-channel', { key: ADMIN_KEY, body: { channel_id: bobLeg.channel_id, reason: 'normal' } });
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'success');
  assert.equal((await endedA).disposition, 'ANSWERED');
  assert.equal((await endedB).disposition, 'ANSWERED');
  assert.deepEqual(await live(), []);
});

test('hanging up the ringing leg stops the ring and ends the call for the caller', async () => {
  const carol = await phone('live-carol', '3003');
  const dave = await phone('live-dave', '3004');
  const rung = new Promise((r) => carol.once('call:ringing', r));
  await req(carol, 'call:dial', { destination: 'live-dave' });
  await rung;
  const daveLeg = (await live()).find((l) => (l.channel_id as string).startsWith('WebRTC/3004-'))!;
  const daveEnded = new Promise<{ reason: string }>((r) => dave.once('call:ended', r));
  const carolEnded = new Promise<{ reason: string }>((r) => carol.once('call:ended', r));
  assert.equal((await api(t, 'POST', '/api/v1/calls/hangup-channel', { key: ADMIN_KEY, body: { channel_id: daveLeg.channel_id } })).status, 200);
  assert.equal((await daveEnded).reason, 'cancelled');
  await carolEnded;
  assert.deepEqual(await live(), []);
});

test('hangup-channel and live validate input and permissions', async () => {
  const hang = (body: unknown, key = ADMIN_KEY) => api(t, 'POST', '/api/v1/calls/hangup-channel', { key, body });
  const missing = await hang({ channel_id: 'WebRTC/9999-0000ffff' });
  assert.deepEqual([missing.status, missing.body.code], [404, 'not_found']);
  for (const body of [{}, { channel_id: 'no-slash' }, { channel_id: 'WebRTC/1 2' }, { channel_id: 'WebRTC/1-1', reason: 'because' }, { channel_id: 'WebRTC/1-1', x: 1 }]) {
    const res = await hang(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.message as string, /channel_id|reason|x|additional/);
  }
  const reader = await createKey(t, 'reader', ['calls.read']);
  const forbidden = await hang({ channel_id: 'WebRTC/1-1' }, reader);
  assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden']);
  assert.match(forbidden.body.message as string, /calls\.control/);
  assert.equal((await api(t, 'GET', '/api/v1/calls/live', { key: reader })).status, 200);
  const minter = await createKey(t, 'minter', ['tokens.create']);
  assert.equal((await api(t, 'GET', '/api/v1/calls/live', { key: minter })).status, 403);
  assert.equal((await api(t, 'GET', '/api/v1/calls/live')).status, 401);
});

test('a call journey lists each step with parties, durations and the outcome', async () => {
  const erin = await phone('journey-erin', '3005');
  const fred = await phone('journey-fred', '3006');
  const { data } = await req(erin, 'call:dial', { destination: '3006' });
  const callId = data!.callId!;
  assert.equal((await req(fred, 'call:answer', { callId })).ok, true);
  assert.equal((await req(erin, 'call:dtmf', { callId, digits: '42' })).ok, true);
  assert.equal((await req(fred, 'call:hold', { callId, held: true })).ok, true);
  assert.equal((await req(fred, 'call:hold', { callId, held: false })).ok, true);
  const live = await api(t, 'GET', `/api/v1/calls/${callId}/journey`, { key: ADMIN_KEY });
  assert.equal(live.body.status, 'in progress');
  const ended = new Promise((r) => fred.once('call:ended', r));
  assert.equal((await req(erin, 'call:hangup', { callId })).ok, true);
  await ended;
  const res = await api(t, 'GET', `/api/v1/calls/${callId}/journey`, { key: ADMIN_KEY });
  assert.equal(res.status, 200);
  const body = res.body as unknown as { linkedid: string; caller: string; destination: string; status: string; answered_by: string; total_duration: number; steps: Record<string, unknown>[] };
  assert.deepEqual([body.linkedid, body.caller, body.destination, body.status, body.answered_by], [callId, '3005', '3006', 'answered', '3006']);
  assert.equal(typeof body.total_duration, 'number');
  assert.deepEqual(body.steps.map((s) => s.action), ['Dial', 'Bridged', 'DTMF', 'Hold', 'Resume', 'Hangup']);
  assert.deepEqual(body.steps.map((s) => s.status), ['ringing', 'answered', '42', 'held', 'answered', 'answered (hangup)']);
  assert.deepEqual([body.steps[1]!.from, body.steps[1]!.to], ['3005', '3006']);
  for (const step of body.steps) {
    assert.ok(Number.isInteger(step.duration) && (step.duration as number) >= 0);
    assert.match(step.time as string, /Z$/);
  }
  assert.equal((await api(t, 'GET', '/api/v1/calls/999/journey', { key: ADMIN_KEY })).status, 404);
  assert.equal((await api(t, 'GET', '/api/v1/calls/x/journey', { key: ADMIN_KEY })).status, 400);
  const minter = await createKey(t, 'journey-minter', ['tokens.create']);
  assert.equal((await api(t, 'GET', `/api/v1/calls/${callId}/journey`, { key: minter })).status, 403);
});
