// End to end: an `openai-realtime` agent whose `base_urls.openai` is a fake Realtime server (written from OpenAI's reference,
// packages/server/test/fakes/openai-realtime.ts) calls a widget through seed 004's POST /v1/calls. The caller hears its
// greeting tone, speaks over it (espeak-ng speech into a steerable microphone) and the tone stops; the fake's reply follows;
// the transcript lands in GET /v1/calls. An error event mid-call is an apology and a clean hang-up. No log line holds the key.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startRealtimeFake, type RealtimeFake } from '../../packages/server/test/fakes/openai-realtime.js';
import { createAgent, defaultInstanceId, serviceCall, setVoiceChannel, turnsOf, v1, waitServiceCall } from '../helpers/agents.js';
import { openCallerPhone, type CallerAudio } from '../helpers/mic.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { speak } from '../helpers/speech.js';
import { stageSuiteHooks, startStage, type Stage } from '../helpers/stage.js';

const KEY = 'sk-e2e-realtime-' + Math.random().toString(36).slice(2);
const GREETING_HZ = 700;
const REPLY_HZ = 1100;
const GREETING = 'Good evening, this is the fake restaurant, how can I help you?';
const REPLY = 'Of course, a table for two at eight.';
const HEARD = 'I would like a table for two please.';
const GREETING_SECONDS = 30;

let stage: Stage;
let server: RunningServer;
let fake: RealtimeFake;
let instanceId: string;
let token: string;
const pages: PhonePage[] = [];

/** The agent calls the widget (extension 1001), which answers; resolves with seed 004's call id and the Realtime session. */
async function answeredCall(): Promise<{ callId: string; phone: PhonePage; audio: CallerAudio; session: Awaited<ReturnType<RealtimeFake['nextSession']>> }> {
  const { phone, audio } = await openCallerPhone(stage.browsers.caller!, stage.site.url, server.url, token);
  pages.push(phone);
  await phone.waitState('ready');
  const res = await v1(server, 'POST', '/v1/calls', { phone: '1001', agent: 'rt' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const callId = res.body.call_id as string;
  await phone.waitState('incoming', 10_000);
  const session = await fake.nextSession();
  await audio.startMeter();
  await phone.invoke('answer');
  await phone.waitState('in-call');
  return { callId, phone, audio, session };
}

describe('an OpenAI Realtime agent on a call', { timeout: 150_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { caller: 440 } });
    server = stage.server;
    fake = await startRealtimeFake({ apiKey: KEY, userTranscript: HEARD, replies: [{ text: GREETING, hz: GREETING_HZ, seconds: GREETING_SECONDS }, { text: REPLY, hz: REPLY_HZ, seconds: 3 }] });
    instanceId = await defaultInstanceId(server);
    const agent = { key: 'rt', name: 'Realtime', provider: 'openai-realtime', prompt: 'You take table reservations.', greeting: GREETING, base_urls: { openai: fake.baseUrl } };
    const refused = await v1(server, 'POST', `/v1/instances/${instanceId}/agents`, agent);
    assert.equal(refused.status, 409, `no openai_api_key yet: ${JSON.stringify(refused.body)}`);
    await setVoiceChannel(server, instanceId, { provider: 'pipecat', openai_api_key: KEY });
    await createAgent(server, instanceId, agent);
    token = await mintToken(server, 'carol', { display_name: 'Carol', extension: '1001' });
  });
  stageSuiteHooks(() => stage, pages, () => fake?.close());

  test('the caller hears the greeting, speaking over it stops it, the reply follows; the transcript lands in GET /v1/calls; no log holds the key', async () => {
    const { wav } = await speak(HEARD);
    const { callId, phone, audio, session } = await answeredCall();
    assert.equal(session.request.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(session.problems, [], 'the session.update and appends follow the reference');
    const greeting = await phone.expectTone(GREETING_HZ);
    assert.ok(greeting.rms > 0.01, JSON.stringify(greeting));
    assert.equal((await serviceCall(server, callId)).status, 'in-progress');

    // The caller speaks over the 30 s greeting: the fake's VAD hears it, the agent's voice stops.
    const talking = await audio.now();
    const saying = audio.say(wav);
    for (let i = 0; i < 100 && session.speechStartedAt.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(session.speechStartedAt.length, 1, 'the fake heard the caller start speaking');
    const silentFrom = await audio.waitForSilence({ from: talking, ms: 400, timeoutMs: 10_000 });
    assert.ok(silentFrom - talking < (GREETING_SECONDS - 10) * 1000, `the greeting stopped once the caller spoke (${Math.round(silentFrom - talking)} ms), long before its ${GREETING_SECONDS} s`);
    await saying;
    assert.ok(session.truncations.length === 1 && session.truncations[0]!.audio_end_ms > 0, `the greeting was truncated to what was heard: ${JSON.stringify(session.truncations)}`);

    // The fake answers what it "heard": the caller hears the reply tone; the transcript holds all three turns, in order.
    const reply = await phone.expectTone(REPLY_HZ);
    assert.ok(reply.rms > 0.01, JSON.stringify(reply));
    const call = await waitServiceCall(server, callId, (c) => turnsOf(c.transcript).some(([r, t]) => r === 'agent' && t === REPLY), 20_000);
    const turns = turnsOf(call.transcript);
    assert.equal(turns.length, 3, call.transcript);
    assert.equal(turns[0]![0], 'agent');
    assert.ok(turns[0]![1].length > 0 && GREETING.startsWith(turns[0]![1]) && turns[0]![1] !== GREETING, `the greeting up to the barge-in: ${call.transcript}`);
    assert.deepEqual(turns.slice(1), [['user', HEARD], ['agent', REPLY]]);

    await phone.invoke('hangup');
    await phone.waitState('ready');
    const ended = await waitServiceCall(server, callId);
    assert.equal(ended.status, 'completed');
    assert.equal(await session.closed, 1000, 'the platform closed the Realtime socket');
    assert.deepEqual(session.problems, []);
    assert.ok(!server.output().includes(KEY), 'the OpenAI key is in no log line');
  });

  test('an error event mid-call: the caller hears an apology, the call ends cleanly (completed), the reason is logged without the key', async () => {
    const { callId, phone, audio, session } = await answeredCall();
    await phone.expectTone(GREETING_HZ);
    const failedAt = await audio.now();
    session.sendError(`The server had an error while processing your request; key ${KEY}`);
    await audio.waitForSound({ from: failedAt, ms: 300, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    const apology = await phone.heardAudio(1000);
    assert.ok(apology.rms > 0.01 && Math.abs(apology.peakHz - GREETING_HZ) > 25, `speech, not the greeting tone, after the error: ${JSON.stringify(apology)}`);
    await phone.waitState('ready', 20_000);
    const ended = await phone.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
    assert.equal((await waitServiceCall(server, callId)).status, 'completed');
    const logged = server.output().split('\n').find((line) => line.includes('openai realtime: error event server_error'));
    assert.ok(logged, 'the failure is logged with its reason');
    assert.ok(!server.output().includes(KEY), 'the OpenAI key is in no log line');
  });
});
