// End to end: the built-in local agent (akylai: espeak-ng, pocketsphinx, voice activity barge-in) on real calls. A widget
// calls it and talks to it with espeak-ng speech played into a steerable microphone; the test hears the agent (energy in
// the page), recognises its words in the call's recording at 16 kHz with pocketsphinx and a grammar (its own recogniser,
// not the agent's), interrupts its long answer, and reads the transcript. Then seed 004's POST /v1/calls: the agent calls
// a widget user, and a phone number through a SIP trunk whose carrier is SIPp (answers, busy, no answer).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScriptedDialogue } from '../../packages/server/src/agents/local/script.js';
import { defaultInstanceId, serviceCall, turnsOf, v1, waitServiceCall, type ServiceCall } from '../helpers/agents.js';
import { openCallerPhone, type CallerAudio } from '../helpers/mic.js';
import type { PhonePage } from '../helpers/phone.js';
import { isNotSilent } from '../helpers/rtp-capture.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { heardPhrase, recognize, speak, wavTo16k, type Utterance } from '../helpers/speech.js';
import { startSipp, type RunningSipp } from '../helpers/sipp.js';
import { captureAtCarrier, configureTrunk, startTrunkStage, type TrunkStage } from '../helpers/trunks.js';

// What akylai says and understands (packages/server/src/agents/local/).
const GREETING = 'Hello, this is Akylai. How can I help you?';
const HOURS_QUESTION = 'what are your opening hours';
const HOURS_ANSWER = 'We are open from nine in the morning to six in the evening, Monday to Friday.';
const LONG_QUESTION = 'tell me about astral';
const INTERRUPTION = 'how much does it cost';
const PRICE_ANSWER = /free and open source/i;
const LONG_ANSWER_END = /without sending your audio anywhere/i;
/**
 * Every phrase the call may hold, the grammar the test's recogniser picks from: what the caller says, and everything the
 * agent's script can say (so no stretch of the recording has to be forced onto a wrong phrase).
 */
const PHRASES = [GREETING, HOURS_QUESTION, HOURS_ANSWER, LONG_QUESTION, INTERRUPTION, ...new ScriptedDialogue(GREETING, null).intents.map((i) => i.answer), 'Sorry, I did not catch that.'];

const SILENT_CARRIER = fileURLToPath(new URL('../../packages/server/test/sipp/uas-answer-silent-bye.xml', import.meta.url));

let stage: TrunkStage;
let server: RunningServer;
let instanceId: string;
const tokens: Record<string, string> = {};
const pages: PhonePage[] = [];
const sipps: RunningSipp[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function callerPhone(identity: 'alice' | 'erin'): Promise<{ phone: PhonePage; audio: CallerAudio }> {
  const opened = await openCallerPhone(stage.browsers.caller!, stage.site.url, server.url, tokens[identity]!);
  pages.push(opened.phone);
  await opened.phone.waitState('ready');
  return opened;
}

/** Seed 004's id of the live agent call whose other party is `phone` (seed 003's active calls list it). */
async function activeServiceId(phone: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const res = await v1(server, 'GET', `/v1/instances/${instanceId}/channels/voice/calls`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const found = (res.body as { call_id: string; caller_phone: string }[]).find((c) => c.caller_phone === phone);
    if (found) return found.call_id;
    await sleep(100);
  }
  throw new Error(`no active agent call with ${phone}`);
}

/** Waits until the transcript has a turn matching `role` and `text`. */
const waitTurn = (callId: string, role: 'agent' | 'user', text: RegExp, timeoutMs = 15_000): Promise<ServiceCall> =>
  waitServiceCall(server, callId, (c) => turnsOf(c.transcript).some(([r, t]) => r === role && text.test(t)), timeoutMs);

/** The call's recording (once the call record has ended): the WAV as served. */
async function recordingOf(callId: string): Promise<Uint8Array> {
  for (let i = 0; i < 50; i++) {
    const rec = await fetch(`${server.url}/api/v1/calls/${callId}`, { headers: { 'x-api-key': server.apiKey } }).then((r) => r.json() as Promise<Record<string, unknown>>);
    if (rec.ended_at) break;
    await sleep(100);
  }
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${server.url}/api/v1/calls/${callId}/recording`, { headers: { 'x-api-key': server.apiKey } });
    if (res.status === 200) return new Uint8Array(await res.arrayBuffer());
    await sleep(200);
  }
  throw new Error(`call ${callId} has no recording`);
}

const describeUtterances = (u: Utterance[]) => u.map((x) => `[${x.startS.toFixed(1)}-${x.endS.toFixed(1)} s] ${x.text}`).join('; ');

/** Fails unless the recognised recording holds `phrase`; the WAV is kept for a post-mortem then. */
function expectHeard(heard: Utterance[], phrase: string, what: string, wav: Uint8Array): void {
  if (heardPhrase(heard, phrase)) return;
  const file = join(tmpdir(), `astral-agent-recording-${Date.now()}.wav`);
  writeFileSync(file, wav);
  assert.fail(`${what} is not in the recording (kept in ${file}); recognised: ${describeUtterances(heard)}`);
}

describe('the local agent on calls', { timeout: 170_000 }, () => {
  before(async () => {
    stage = await startTrunkStage({ browsers: { caller: 440 }, env: { ASTRAL_RING_TIMEOUT: '4' } });
    server = stage.server;
    instanceId = await defaultInstanceId(server);
    tokens.alice = await mintToken(server, 'alice', { display_name: 'Alice', extension: '1001' });
    tokens.erin = await mintToken(server, 'erin', { display_name: 'Erin', extension: '1002' });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close().catch(() => undefined)));
    await Promise.all(sipps.splice(0).map((s) => s.stop()));
  });
  after(async () => {
    if (process.env.DUMP_SERVER) console.log(server?.output());
    await stage?.close();
  });

  test('a widget calls akylai: it greets, understands a spoken question, stops its long answer when the caller speaks over it; recording and transcript hold the conversation', async () => {
    const [hours, long, interruption] = await Promise.all([speak(HOURS_QUESTION), speak(LONG_QUESTION), speak(INTERRUPTION)]);
    const { phone, audio } = await callerPhone('alice');
    const callId = (await phone.invoke('call', 'agent:akylai')) as string;
    await audio.startMeter();
    await phone.waitState('in-call', 10_000);
    const serviceId = await activeServiceId('1001');

    // The greeting: the caller hears the agent speak, then it falls silent waiting for the caller.
    const greetingAt = await audio.waitForSound({ ms: 300, timeoutMs: 10_000 });
    await audio.waitForSilence({ from: greetingAt, ms: 800, timeoutMs: 10_000 });
    assert.ok((await audio.energy(greetingAt, greetingAt + 1000)) > 0.01, 'the greeting is not a whisper');
    const greeted = await waitTurn(serviceId, 'agent', /akylai|help/i);
    assert.equal(turnsOf(greeted.transcript)[0]![0], 'agent', `the agent speaks first: ${greeted.transcript}`);

    // The caller asks for the opening hours; the agent answers with them.
    const asked = await audio.say(hours.wav);
    const answerAt = await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
    const answered = await waitTurn(serviceId, 'agent', /nine in the morning/i);
    const turns = turnsOf(answered.transcript);
    const answerIndex = turns.findIndex(([r, t]) => r === 'agent' && /nine in the morning/i.test(t));
    assert.ok(turns.slice(0, answerIndex).some(([r, t]) => r === 'user' && /opening hours/i.test(t)), `the caller's question is a user turn before the answer: ${answered.transcript}`);
    await audio.waitForSilence({ from: answerAt, ms: 800, timeoutMs: 15_000 });

    // The long answer; a second into it the caller speaks; the agent's audio at the caller stops.
    const askedLong = await audio.say(long.wav);
    const longAt = await audio.waitForSound({ from: askedLong.endedAt, ms: 300, timeoutMs: 10_000 });
    await sleep(1500);
    assert.ok((await audio.energy((await audio.now()) - 1000, await audio.now())) > 0.005, 'the agent is still talking a second and a half into its long answer');
    const bargeAt = await audio.now();
    const interrupting = audio.say(interruption.wav);
    // Stopped: 0.7 s of silence (espeak-ng pauses at most ~0.35 s between sentences) soon after the caller started.
    const stoppedAt = await audio.waitForSilence({ from: bargeAt, ms: 700, timeoutMs: 8000 });
    assert.ok(stoppedAt - bargeAt < 2500, `the agent's audio stopped ${Math.round(stoppedAt - bargeAt)} ms after the caller started speaking`);
    assert.ok(stoppedAt - longAt < 8000, 'well before the ≥10 s long answer would have ended');
    await interrupting;
    // It understood the interruption: the price answer follows the cut-short long answer.
    const priced = await waitTurn(serviceId, 'agent', PRICE_ANSWER);
    const afterBarge = turnsOf(priced.transcript);
    const longTurn = afterBarge.findIndex(([r, t]) => r === 'agent' && /self hosted/i.test(t));
    assert.ok(longTurn >= 0, `the long answer's spoken part is an agent turn: ${priced.transcript}`);
    assert.doesNotMatch(afterBarge[longTurn]![1], LONG_ANSWER_END, 'the long answer turn holds only what was said before the caller spoke');
    assert.ok(afterBarge.slice(longTurn + 1).some(([r, t]) => r === 'user' && /how much/i.test(t)), `the interruption is a user turn after it: ${priced.transcript}`);

    await phone.invoke('hangup');
    await phone.waitState('ready');
    const final = await waitServiceCall(server, serviceId);
    assert.equal(final.status, 'completed');
    assert.equal(final.agent, 'akylai');
    assert.equal(final.phone, '1001');
    assert.ok(final.duration >= 5, `duration ${final.duration}`);
    const all = turnsOf(final.transcript);
    assert.ok(all.filter(([r]) => r === 'agent').length >= 4, `greeting, hours, long and price answers are agent turns: ${final.transcript}`);
    assert.ok(all.filter(([r]) => r === 'user').length >= 3, `the caller's three questions are user turns: ${final.transcript}`);
    assert.ok(all.some(([r, t]) => r === 'user' && /astral/i.test(t)), `the long question is a user turn: ${final.transcript}`);

    // The recording holds the agent's voice: the test's own recogniser finds the greeting and the hours answer in it.
    const wav = await recordingOf(callId);
    const pcm = wavTo16k(wav);
    assert.ok(pcm.length > 16_000 * 5, `a recording as long as the call: ${(pcm.length / 16_000).toFixed(1)} s`);
    const heard = await recognize(pcm, PHRASES);
    expectHeard(heard, GREETING, 'the greeting', wav);
    expectHeard(heard, HOURS_ANSWER, 'the hours answer', wav);
    expectHeard(heard, HOURS_QUESTION, "the caller's question", wav);
    expectHeard(heard, `${GREETING} ${HOURS_QUESTION}. ${HOURS_ANSWER}`, 'greeting, question and answer in that order', wav);
    // The greeting comes first, in the opening seconds.
    const firstAgent = heard.find((u) => /help you/.test(u.text));
    assert.ok(firstAgent && firstAgent.startS < 6, `the greeting opens the call: ${describeUtterances(heard)}`);
  });

  test('POST /v1/calls to a widget user: the widget rings, is answered, hears the greeting; told goodbye, the agent hangs up: completed with a duration and both turns in the transcript', async () => {
    const goodbye = await speak('goodbye');
    const { phone, audio } = await callerPhone('erin');
    const res = await v1(server, 'POST', '/v1/calls', { phone: '1002', agent: 'akylai' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const callId = res.body.call_id as string;
    assert.match(callId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await phone.waitState('incoming', 10_000);
    const ringing = await serviceCall(server, callId);
    assert.ok(['queued', 'ringing'].includes(ringing.status), `before the answer: ${ringing.status}`);
    assert.deepEqual([ringing.phone, ringing.agent, ringing.ended_at], ['1002', 'akylai', null]);
    const incoming = await phone.waitEvent('astral-incoming');
    assert.match(JSON.stringify(incoming.detail.from), /akylai/i, 'the widget sees the agent calling');
    await audio.startMeter();
    await phone.invoke('answer');
    await phone.waitState('in-call');
    const greetingAt = await audio.waitForSound({ ms: 300, timeoutMs: 10_000 });
    assert.equal((await serviceCall(server, callId)).status, 'in-progress');
    await audio.waitForSilence({ from: greetingAt, ms: 800, timeoutMs: 10_000 });
    await waitTurn(callId, 'agent', /help/i);
    // Erin says goodbye: the agent says goodbye too and ends the call itself.
    await audio.say(goodbye.wav);
    await phone.waitState('ready', 12_000).catch(async (err: Error) => {
      assert.fail(`the agent did not end the call after goodbye (${err.message}); phone ${await phone.state()}; transcript: ${JSON.stringify((await serviceCall(server, callId)).transcript)}`);
    });
    const ended = await phone.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
    const call = await waitServiceCall(server, callId);
    assert.equal(call.status, 'completed');
    assert.ok(call.duration >= 2, `duration ${call.duration} s`);
    assert.ok(call.ended_at && Date.parse(call.ended_at) >= Date.parse(call.created_at));
    const turns = turnsOf(call.transcript);
    assert.equal(turns[0]?.[0], 'agent', call.transcript);
    assert.match(turns[0]![1], /how can i help you/i);
    assert.ok(turns.some(([r, t]) => r === 'user' && /goodbye/i.test(t)), `Erin's goodbye is a user turn: ${call.transcript}`);
    assert.match(turns.at(-1)!.join(': '), /^agent: goodbye/i, `the agent's goodbye is the last turn: ${call.transcript}`);
  });

  test('POST /v1/calls to a phone number through the SIPp carrier: the carrier answers and hears the agent, hangs up: completed, duration, transcript', async () => {
    const sipp = await startSipp({ scenario: SILENT_CARRIER, durationMs: 5000, timeoutS: 30 });
    sipps.push(sipp);
    await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: sipp.port, allowed_ips: ['127.0.0.1/32'] });
    const heardByCarrier = await captureAtCarrier(sipp.mediaPort);
    const res = await v1(server, 'POST', '/v1/calls', { phone: '+15551230001', agent: 'akylai' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const callId = res.body.call_id as string;
    const result = await sipp.done;
    assert.ok(result.receivedRequests.includes('INVITE'), result.log);
    const invite = result.messages.find((m) => m.direction === 'received' && m.method === 'INVITE')!;
    assert.match(invite.firstLine, /^INVITE sip:\+15551230001@/);
    assert.ok(result.sentRequests.includes('BYE'), `the carrier hung up: ${result.log}`);
    const call = await waitServiceCall(server, callId);
    assert.equal(call.status, 'completed');
    assert.equal(call.phone, '+15551230001');
    assert.ok(call.duration >= 4 && call.duration <= 8, `the carrier stayed 5 s: duration ${call.duration}`);
    const [first] = turnsOf(call.transcript);
    assert.equal(first?.[0], 'agent', call.transcript);
    assert.match(first![1], /how can i help you/i);
    const got = await heardByCarrier.stop();
    assert.ok(got.packets > 100, `the carrier received the agent's RTP: ${got.packets} packets`);
    assert.equal(got.mainPt, 8, 'in the PCMA it answered with');
    assert.ok(isNotSilent(got.pcm), "and it is the agent's voice, not silence");
  });

  test('POST /v1/calls to a busy number and to one nobody answers: busy and no-answer, no transcript', async () => {
    const busy = await startSipp({ scenario: 'uas-busy.xml' });
    sipps.push(busy);
    await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: busy.port, allowed_ips: ['127.0.0.1/32'] });
    const a = await v1(server, 'POST', '/v1/calls', { phone: '+15551230002', agent: 'akylai' });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    const busyCall = await waitServiceCall(server, a.body.call_id);
    assert.equal(busyCall.status, 'busy');
    assert.equal(busyCall.duration, 0);
    assert.equal(busyCall.transcript, '');
    assert.equal((await busy.done).finalStatus, 486);

    const silent = await startSipp({ scenario: 'uas-no-answer.xml' });
    sipps.push(silent);
    await configureTrunk(server, { name: 'carrier', host: '127.0.0.1', port: silent.port, allowed_ips: ['127.0.0.1/32'] });
    const b = await v1(server, 'POST', '/v1/calls', { phone: '+15551230003', agent: 'akylai' });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const rang = await waitServiceCall(server, b.body.call_id, (c) => c.status === 'ringing', 5000);
    assert.equal(rang.ended_at, null);
    const unanswered = await waitServiceCall(server, b.body.call_id, undefined, 10_000); // the 4 s ring timeout
    assert.equal(unanswered.status, 'no-answer');
    assert.equal(unanswered.duration, 0);
    assert.equal(unanswered.transcript, '');
    const r = await silent.done;
    assert.ok(r.receivedRequests.includes('CANCEL'), `Astral cancelled the INVITE: ${r.receivedRequests}`);
  });
});
