// End to end: the local agent (akylai) wherever a destination is accepted, against the real server, Chromium and SIPp.
// A number with destination_type ai_agent that the carrier (SIPp) calls; a queue whose member does not answer
// overflowing to the agent; an IVR option the carrier picks with an RFC 4733 digit; click-to-call with to_type ai_agent;
// a blind transfer to the agent over the REST API (an attended one is refused). Each time the caller hears the agent
// (G.711 at the carrier, received energy in the widget), the journey has an Agent step after the route that led there,
// and the transcript opens with the agent's greeting. (A widget dialling agent:akylai is test/e2e/agents.test.ts.)
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, describe, test } from 'node:test';
import { buildRtp } from '../../packages/server/src/media/rtp.js';
import { openCallerPhone, type CallerAudio } from '../helpers/mic.js';
import type { PhonePage } from '../helpers/phone.js';
import { analyseRtp, hasTone, isNotSilent, writeRtpPcap } from '../helpers/rtp-capture.js';
import { mintToken } from '../helpers/server.js';
import { freeMediaPort, startSipp, type RunningSipp, type SippOptions } from '../helpers/sipp.js';
import { speak } from '../helpers/speech.js';
import { toneFile } from '../helpers/tone.js';
import { api, captureAtCarrier, configureTrunk, lastEndedCall, startTrunkStage, trunkSuiteHooks, type TrunkStage } from '../helpers/trunks.js';

// What akylai says (packages/server/src/agents/local/).
const GREETING = 'Hello, this is Akylai. How can I help you?';
const HOURS_QUESTION = 'what are your opening hours';
const PROMPT_HZ = 600;
const AGENT_NUMBER = '+15550100';
const IVR_NUMBER = '15550106';

let stage: TrunkStage;
const tokens: Record<string, string> = {};
const sipps: RunningSipp[] = [];
const pages: PhonePage[] = [];
let silentPcap: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Step {
  time: string;
  action: string;
  from: string;
  to: string;
  status: string;
}
interface Turn {
  role: string;
  text: string;
  at: string;
}

/**
 * A carrier's caller that says nothing: 20 s of PCMA digital silence (0xD5) in 20 ms packets, so the agent greets
 * undisturbed (SIPp's g711a.pcap speech would barge in on it). `buildDtmfPcap` inserts digits into it as well.
 */
function writeSilentPcap(): string {
  const dir = join(tmpdir(), 'astral-fixtures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pcma-silence-20s.pcap');
  const records = Array.from({ length: 1000 }, (_, i) => ({
    timeUs: 1_700_000_000_000_000 + i * 20_000,
    rtp: buildRtp({ payloadType: 8, marker: i === 0, seq: 1000 + i, timestamp: 160 * i, ssrc: 0x5117e7 }, Buffer.alloc(160, 0xd5)),
  }));
  writeFileSync(file, writeRtpPcap(records));
  return file;
}

/** The carrier calls `number`; its media port is captured before the INVITE goes out, so no packet is missed. */
async function dialIn(number: string, opts: Partial<SippOptions> = {}) {
  const mediaPort = await freeMediaPort();
  const heard = await captureAtCarrier(mediaPort);
  const sipp = await startSipp({
    scenario: 'uac-call-pcap.xml',
    remote: `127.0.0.1:${stage.sipPort}`,
    service: number,
    vars: { from: '+14155550123' },
    audioPcap: silentPcap,
    mediaPort,
    timeoutS: 40,
    ...opts,
  });
  sipps.push(sipp);
  return { sipp, heard };
}

async function callerPhone(identity: 'alice' | 'bob'): Promise<{ phone: PhonePage; audio: CallerAudio }> {
  const opened = await openCallerPhone(stage.browsers.caller!, stage.site.url, stage.server.url, tokens[identity]!);
  pages.push(opened.phone);
  await opened.phone.waitState('ready');
  await opened.audio.startMeter();
  return opened;
}

async function journeyOf(callId: string): Promise<Step[]> {
  const res = await api(stage.server, 'GET', `/api/v1/calls/${callId}/journey`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.steps as Step[];
}

const describeSteps = (steps: Step[]) => steps.map((s) => `${s.action}(${s.from}→${s.to}: ${s.status})`).join(', ');

/** Fails unless `actions` occur in the journey in this order (other steps may come between). */
function assertJourney(steps: Step[], actions: string[]): void {
  let at = 0;
  for (const action of actions) {
    const i = steps.findIndex((s, k) => k >= at && s.action === action);
    assert.ok(i >= 0, `journey has ${actions.join(' → ')}: ${describeSteps(steps)}`);
    at = i + 1;
  }
  const agent = steps.find((s) => s.action === 'Agent');
  assert.ok(agent && /akylai/.test(`${agent.from} ${agent.to}`) && agent.status === 'answered', `akylai answered: ${describeSteps(steps)}`);
}

/** Polls the call's transcript until `done(turns)`; fails with the last one seen. */
async function waitTranscript(callId: string, done: (turns: Turn[]) => boolean, timeoutMs = 15_000): Promise<{ agent: string; turns: Turn[] }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await api(stage.server, 'GET', `/api/v1/calls/${callId}/transcript`);
    last = res;
    if (res.status === 200 && done(res.body.turns as Turn[])) return res.body;
    if (Date.now() > deadline) throw new Error(`transcript of ${callId} not there within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/** The transcript opens with akylai's whole greeting (not one cut short by a barge-in). */
async function expectGreeting(callId: string): Promise<Turn[]> {
  const t = await waitTranscript(callId, (turns) => turns.some((x) => x.role === 'agent'));
  assert.equal(t.agent, 'akylai');
  assert.equal(t.turns[0]?.role, 'agent', JSON.stringify(t.turns));
  assert.equal(t.turns[0]!.text, GREETING, `the first turn is the greeting: ${JSON.stringify(t.turns)}`);
  return t.turns;
}

/** The widget hears the agent speak, then fall silent waiting for its caller. */
async function expectHearsAgent(audio: CallerAudio, from = 0): Promise<number> {
  const spokeAt = await audio.waitForSound({ from, ms: 300, timeoutMs: 12_000 });
  await audio.waitForSilence({ from: spokeAt, ms: 800, timeoutMs: 10_000 });
  assert.ok((await audio.energy(spokeAt, spokeAt + 1000)) > 0.01, 'the agent is heard, not a whisper');
  return spokeAt;
}

describe('an AI agent wherever a destination is accepted', { timeout: 150_000 }, () => {
  before(async () => {
    silentPcap = writeSilentPcap();
    stage = await startTrunkStage({ browsers: { caller: 440, callee: 1000 }, env: { ASTRAL_RING_TIMEOUT: '5' } });
    tokens.alice = await mintToken(stage.server, 'alice', { display_name: 'Alice', extension: '1001' });
    tokens.bob = await mintToken(stage.server, 'bob', { display_name: 'Bob', extension: '1002' });
    const prompt = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), PROMPT_HZ, 2)).toString('base64');
    const queue = await api(stage.server, 'POST', '/api/v1/queues', { number: '5001', name: 'Support', strategy: 'ring-all', members: ['1002'], ring_timeout: 5, overflow: 'agent:akylai' });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    const ivr = await api(stage.server, 'POST', '/api/v1/ivr', { number: '6001', name: 'Main menu', prompt_wav: prompt, options: { '1': 'agent:akylai' } });
    assert.equal(ivr.status, 201, JSON.stringify(ivr.body));
    await configureTrunk(stage.server, { name: 'carrier', host: '127.0.0.1', port: 5999, allowed_ips: ['127.0.0.1/32'] }, [
      { number: AGENT_NUMBER, destination: 'akylai', destination_type: 'ai_agent' },
      { number: IVR_NUMBER, destination: '6001', destination_type: 'ivr' },
    ]);
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close().catch(() => undefined)));
  });
  trunkSuiteHooks(() => stage, sipps);

  test('a number with destination_type ai_agent: the carrier calls it, akylai answers and the carrier hears its voice', async () => {
    const unknown = await api(stage.server, 'POST', '/api/v1/numbers', { number: '+15550199', destination: 'nobody', destination_type: 'ai_agent' });
    assert.equal(unknown.status, 400, `a number to an unknown agent is refused: ${JSON.stringify(unknown.body)}`);
    assert.match(unknown.body.message, /no agent "nobody"/);
    const { sipp, heard } = await dialIn(AGENT_NUMBER, { durationMs: 6000 });
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, result.log);
    assert.ok(result.sentRequests.includes('BYE'), `the carrier hung up after talking: ${result.log}`);
    const got = await heard.stop();
    assert.ok(got.packets > 100, `the carrier received RTP: ${got.packets} packets`);
    assert.equal(got.mainPt, 8, 'in the PCMA it offered');
    assert.ok(isNotSilent(got.pcm), "and it is the agent's voice, not silence");
    const call = await lastEndedCall(stage.server);
    assert.deepEqual([call.direction, call.from_number, call.to_number, call.record.disposition], ['inbound', '+14155550123', AGENT_NUMBER, 'ANSWERED']);
    assertJourney(await journeyOf(call.id), ['Agent']);
    await expectGreeting(call.id);
  });

  test('a queue overflowing to agent:akylai: its member rings unanswered, then the caller talks to the agent', async () => {
    const bob = await stage.phone('callee', tokens.bob!);
    const { phone: alice, audio } = await callerPhone('alice');
    const callId = (await alice.invoke('call', '5001')) as string;
    await bob.waitState('incoming', 10_000); // the queue rings its member first
    await bob.waitState('ready', 10_000); // its 5 s ring_timeout (the minimum) passes unanswered
    await expectHearsAgent(audio);
    assert.equal(await alice.state(), 'in-call');
    await expectGreeting(callId);
    await alice.invoke('hangup');
    await alice.waitState('ready');
    assertJourney(await journeyOf(callId), ['Queue', 'Overflow', 'Agent']);
    const overflow = (await journeyOf(callId)).find((s) => s.action === 'Overflow')!;
    assert.equal(overflow.to, 'agent:akylai', describeSteps(await journeyOf(callId)));
  });

  test('an IVR option agent:akylai: the carrier hears the prompt, presses 1 (RFC 4733) and hears the agent instead', async () => {
    const { sipp, heard } = await dialIn(IVR_NUMBER, { dtmf: '1', dtmfAtMs: 2500, durationMs: 9000 });
    const result = await sipp.done;
    assert.equal(result.finalStatus, 200, result.log);
    const got = await heard.stop();
    const call = await lastEndedCall(stage.server);
    const steps = await journeyOf(call.id);
    assertJourney(steps, ['IVR', 'DTMF', 'Agent']);
    assert.ok(steps.some((s) => s.action === 'IVR' && s.status === 'choice 1' && s.to === 'agent:akylai'), describeSteps(steps));
    // Before the agent answered the carrier heard the 600 Hz prompt; after, speech that is not the prompt.
    const agentAt = Date.parse(steps.find((s) => s.action === 'Agent')!.time);
    const before = analyseRtp(got.rtp.filter((r) => r.time < agentAt));
    const after = analyseRtp(got.rtp.filter((r) => r.time > agentAt + 100));
    assert.ok(hasTone(before.pcm, PROMPT_HZ), `the prompt before the choice (${before.packets} packets)`);
    assert.ok(after.packets > 100 && isNotSilent(after.pcm), `the agent after it: ${after.packets} packets`);
    assert.ok(!hasTone(after.pcm, PROMPT_HZ), 'and the prompt stopped');
    await expectGreeting(call.id);
  });

  test('click-to-call to_type ai_agent: the widget rings, answers, and hears akylai', async () => {
    const { phone: alice, audio } = await callerPhone('alice');
    const missing = await api(stage.server, 'POST', '/api/v1/calls/click-to-call', { from: '1001', to: 'nobody', to_type: 'ai_agent' });
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    assert.deepEqual(missing.body, { status: 'error', message: 'Failed to originate call: no agent "nobody"' });
    const res = await api(stage.server, 'POST', '/api/v1/calls/click-to-call', { from: '1001', to: 'akylai', to_type: 'ai_agent' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { status: 'success', message: 'Call initiated' });
    const incoming = await alice.waitEvent('astral-incoming', 10_000);
    assert.match(JSON.stringify(incoming.detail.from), /akylai/i, 'the widget is shown whom it will be connected to');
    const answeredAt = await audio.now();
    await alice.invoke('answer');
    await alice.waitState('in-call');
    await expectHearsAgent(audio, answeredAt);
    const live = (await api(stage.server, 'GET', '/api/v1/calls/live')).body as { channel_id: string; linkedid: string; status: string }[];
    const agentLeg = live.find((l) => l.channel_id.startsWith('Agent/akylai-'));
    assert.ok(agentLeg && agentLeg.status === 'answered', `the agent is a live leg of the call: ${JSON.stringify(live)}`);
    await alice.invoke('hangup');
    await alice.waitState('ready');
    const call = await lastEndedCall(stage.server);
    assert.equal(call.id, agentLeg.linkedid);
    assertJourney(await journeyOf(call.id), ['Agent']);
    await expectGreeting(call.id);
  });

  test('a blind transfer to agent:akylai: the transferer leaves, the other party talks to the agent; attended is refused', async () => {
    const hours = await speak(HOURS_QUESTION);
    const bob = await stage.phone('callee', tokens.bob!);
    const { phone: alice, audio } = await callerPhone('alice');
    const callId = (await alice.invoke('call', '1002')) as string;
    await bob.waitState('incoming', 10_000);
    await bob.invoke('answer');
    await alice.waitState('in-call');
    await alice.expectTone(1000); // Bob's microphone
    const live = (await api(stage.server, 'GET', '/api/v1/calls/live')).body as { channel_id: string; linkedid: string }[];
    const bobLeg = live.find((l) => l.channel_id.startsWith('WebRTC/1002-') && l.linkedid === callId);
    assert.ok(bobLeg, JSON.stringify(live));

    const attended = await api(stage.server, 'POST', '/api/v1/calls/transfer', { call_id: bobLeg.channel_id, destination: 'agent:akylai', type: 'attended' });
    assert.equal(attended.status, 400, JSON.stringify(attended.body));
    assert.match(attended.body.message, /blind transfers only/, `refused because an agent cannot be consulted: ${JSON.stringify(attended.body)}`);
    assert.deepEqual([await alice.state(), await bob.state()], ['in-call', 'in-call'], 'the refused transfer leaves the call as it was');

    const transferAt = await audio.now();
    const blind = await api(stage.server, 'POST', '/api/v1/calls/transfer', { call_id: bobLeg.channel_id, destination: 'agent:akylai', type: 'blind' });
    assert.equal(blind.status, 200, JSON.stringify(blind.body));
    await bob.waitState('ready', 5_000);
    assert.equal(await alice.state(), 'in-call', 'Alice stays in the call');
    await expectGreeting(callId);
    // Bob's tone is gone (silence once the greeting is over); Alice asks, and the agent answers what she asked.
    await audio.waitForSilence({ from: transferAt, ms: 800, timeoutMs: 12_000 });
    const asked = await audio.say(hours.wav);
    await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
    const turns = (await waitTranscript(callId, (t) => t.some((x) => x.role === 'agent' && /nine in the morning/i.test(x.text)))).turns;
    const answer = turns.findIndex((x) => x.role === 'agent' && /nine in the morning/i.test(x.text));
    assert.ok(turns.slice(1, answer).some((x) => x.role === 'user' && /opening hours/i.test(x.text)), `Alice's question is a user turn before the answer: ${JSON.stringify(turns)}`);
    await alice.invoke('hangup');
    await alice.waitState('ready');
    const steps = await journeyOf(callId);
    assertJourney(steps, ['Bridged', 'Transfer', 'Agent']);
    const transfer = steps.find((s) => s.action === 'Transfer')!;
    assert.deepEqual([transfer.from, transfer.to, transfer.status], ['1002', 'agent:akylai', 'blind'], describeSteps(steps));
    assert.equal(steps.filter((s) => s.action === 'Transfer').length, 1, `the refused attended transfer left no step: ${describeSteps(steps)}`);
  });
});
