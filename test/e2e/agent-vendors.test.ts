// End to end: a pipeline agent on the cloud vendors, each one a protocol-faithful fake in this test process (Deepgram live
// STT, OpenAI chat completions, ElevenLabs stream-input TTS; packages/server/test/fakes/) reached through the agent's
// base_urls with the voice channel's keys. A widget caller speaks (espeak-ng into a steerable microphone): the Deepgram
// fake hears the call's PCM and answers the transcript, the OpenAI fake gets it in its messages and streams a reply, the
// ElevenLabs fake streams a tone the caller hears. Speaking over the agent aborts the LLM request and the TTS stream; an
// LLM failure mid-call is a spoken apology and a clean hang-up. Seed 004's GET /v1/calls holds the turns; no log holds a key.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FakeDeepgram, type DeepgramListening, type DeepgramSession } from '../../packages/server/test/fakes/deepgram.js';
import { FakeElevenLabs, TONE_HZ } from '../../packages/server/test/fakes/elevenlabs.js';
import { FakeOpenAi } from '../../packages/server/test/fakes/openai.js';
import { createAgent, defaultInstanceId, setVoiceChannel, turnsOf, v1, waitServiceCall, type ServiceCall } from '../helpers/agents.js';
import { openCallerPhone, type CallerAudio } from '../helpers/mic.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { speak } from '../helpers/speech.js';
import { stageSuiteHooks, startStage, type Stage } from '../helpers/stage.js';

const suffix = () => Math.random().toString(36).slice(2, 12);
const KEYS = { deepgram: `dg-e2e-${suffix()}`, openai: `sk-e2e-${suffix()}`, elevenlabs: `xi-e2e-${suffix()}` };
const GREETING = 'Hello, this is the vendor agent. How can I help you?';
const PROMPT = 'You answer questions about Astral.';
const HOURS_QUESTION = 'what are your opening hours';
const HOURS_ANSWER = 'We are open from nine to six.';
const LONG_QUESTION = 'tell me about astral';
const LONG_ANSWER = 'Astral is a self hosted calling platform.';
const PRICE_QUESTION = 'how much does it cost';
const PRICE_ANSWER = 'It is free and open source.';
/** The fake's tone lasts this long per character said: the greeting is about 5 s, a reply about 3 s. */
const TONE_MS_PER_CHAR = 100;

let stage: Stage;
let server: RunningServer;
let deepgram: FakeDeepgram;
let openai: FakeOpenAi;
let eleven: FakeElevenLabs;
let instanceId: string;
let token: string;
/** What the Deepgram fake answers, one per utterance it hears. */
const listening: DeepgramListening = { transcripts: [] };
const pages: PhonePage[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    const got = probe();
    if (got) return got;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The widget dials the agent; resolves once in call with the Deepgram session open and seed 004's id of the call. */
async function callAgent(): Promise<{ phone: PhonePage; audio: CallerAudio; callId: string; serviceId: string; stt: DeepgramSession }> {
  const { phone, audio } = await openCallerPhone(stage.browsers.caller!, stage.site.url, server.url, token);
  pages.push(phone);
  await phone.waitState('ready');
  await audio.startMeter();
  const callId = (await phone.invoke('call', 'agent:vendors')) as string;
  await phone.waitState('in-call', 10_000);
  const stt = await deepgram.session();
  return { phone, audio, callId, serviceId: await activeServiceId('1001'), stt };
}

/** Seed 004's id of the live agent call whose other party is `phone` (seed 003's active calls list it). */
async function activeServiceId(phone: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const res = await v1(server, 'GET', `/v1/instances/${instanceId}/channels/voice/calls`);
    const found = (res.body as { call_id: string; caller_phone: string }[]).find((c) => c.caller_phone === phone);
    if (found) return found.call_id;
    await sleep(100);
  }
  throw new Error(`no active agent call with ${phone}`);
}

/** The caller hears the fake's tone, and it comes as RTP into the widget. */
async function hearsTone(phone: PhonePage, what: string): Promise<void> {
  const before = (await phone.stats()).packetsReceived ?? 0;
  const heard = await phone.expectTone(TONE_HZ).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
  assert.ok(heard.rms > 0.01, `${what}: ${JSON.stringify(heard)}`);
  assert.ok(((await phone.stats()).packetsReceived ?? 0) > before, `${what}: inbound RTP while the tone plays`);
}

/** The vendors whose key occurs in `text`. */
const vendorKeysIn = (text: string) => Object.entries(KEYS).filter(([, key]) => text.includes(key)).map(([vendor]) => vendor);

describe('a pipeline agent on Deepgram, OpenAI and ElevenLabs (fakes)', { timeout: 150_000 }, () => {
  before(async () => {
    [deepgram, openai, eleven] = await Promise.all([FakeDeepgram.start(KEYS.deepgram, listening), FakeOpenAi.start(KEYS.openai), FakeElevenLabs.start(KEYS.elevenlabs, TONE_MS_PER_CHAR)]);
    stage = await startStage({ browsers: { caller: 440 }, env: { LOG_LEVEL: 'debug' } });
    server = stage.server;
    instanceId = await defaultInstanceId(server);
    await setVoiceChannel(server, instanceId, { provider: 'pipecat', deepgram_api_key: KEYS.deepgram, openai_api_key: KEYS.openai, elevenlabs_api_key: KEYS.elevenlabs });
    await createAgent(server, instanceId, {
      key: 'vendors',
      name: 'Vendor agent',
      provider: 'pipecat',
      greeting: GREETING,
      prompt: PROMPT,
      voice: 'voiceE2E1',
      llm_model: 'gpt-e2e',
      base_urls: { deepgram: deepgram.url, openai: openai.url, elevenlabs: eleven.url },
    });
    token = await mintToken(server, 'carol', { display_name: 'Carol', extension: '1001' });
  });
  stageSuiteHooks(() => stage, pages, () => Promise.all([deepgram?.close(), openai?.close(), eleven?.close()]));

  test("the caller's speech reaches Deepgram, its transcript OpenAI, the reply's ElevenLabs tone the caller; speaking over the agent aborts the LLM request and the TTS stream; the turns land in GET /v1/calls", async () => {
    const [hours, long, price] = await Promise.all([speak(HOURS_QUESTION), speak(LONG_QUESTION), speak(PRICE_QUESTION)]);
    const { phone, audio, serviceId, stt } = await callAgent();
    assert.equal(stt.query.get('encoding'), 'linear16');
    assert.equal(stt.query.get('sample_rate'), '16000');

    // The greeting: no LLM request (it is the agent's own), spoken by the ElevenLabs fake in the agent's voice.
    await hearsTone(phone, 'the greeting');
    const greetedAt = await audio.now();
    const greetingTts = eleven.sessions.filter((s) => s.messages.some((m) => m.text?.startsWith('Hello, this is the vendor agent.')));
    assert.equal(greetingTts.length, 1, 'the greeting went to ElevenLabs');
    assert.equal(greetingTts[0]!.voiceId, 'voiceE2E1');
    assert.equal(greetingTts[0]!.query.get('output_format'), 'pcm_16000');
    await audio.waitForSilence({ from: greetedAt, ms: 800, timeoutMs: 15_000 });
    assert.equal(openai.requests.length, 0, 'the greeting needs no completion');

    // The caller asks: Deepgram hears real speech (energy), answers the transcript; OpenAI gets it; its reply is heard.
    listening.transcripts.push(HOURS_QUESTION);
    openai.answer({ text: ['We are open ', 'from nine ', 'to six.'] });
    const heardBefore = stt.voicedMs;
    const asked = await audio.say(hours.wav);
    await until('the transcript', () => stt.utterances.length === 1);
    assert.ok(stt.peakRms > 2000, `the caller's PCM reached Deepgram with energy (peak RMS ${Math.round(stt.peakRms)})`);
    assert.ok(stt.voicedMs - heardBefore >= hours.seconds * 400, `the ${hours.seconds.toFixed(1)} s question was voiced at Deepgram (${stt.voicedMs - heardBefore} ms of it)`);
    const completion = await until('the completion request', () => openai.requests[0]);
    assert.equal(completion.body.model, 'gpt-e2e');
    assert.equal(completion.body.stream, true);
    assert.match(completion.body.messages[0]!.content ?? '', /You answer questions about Astral\./);
    assert.deepEqual(completion.body.messages.slice(1), [
      { role: 'assistant', content: GREETING },
      { role: 'user', content: HOURS_QUESTION },
    ]);
    await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
    await hearsTone(phone, 'the answer');
    assert.ok(eleven.sessions.some((s) => s.messages.some((m) => m.text === `${HOURS_ANSWER} `)), 'the answer went to ElevenLabs');
    await audio.waitForSilence({ from: await audio.now(), ms: 800, timeoutMs: 15_000 });

    // A long answer: the LLM is still streaming and ElevenLabs still talking when the caller speaks over it.
    listening.transcripts.push(LONG_QUESTION, PRICE_QUESTION);
    openai.answer({ stall: [`${LONG_ANSWER} `, 'It runs'] });
    eleven.behaviours.push('talk');
    const askedLong = await audio.say(long.wav);
    await audio.waitForSound({ from: askedLong.endedAt, ms: 300, timeoutMs: 10_000 });
    await hearsTone(phone, 'the long answer');
    const llm = openai.requests[1]!;
    const tts = await until('the long answer at ElevenLabs', () => eleven.sessions.find((s) => s.messages.some((m) => m.text === `${LONG_ANSWER} `)));
    assert.deepEqual([llm.aborted, tts.closed], [false, false], 'the reply is in flight');
    openai.answer({ text: ['It is free ', 'and open source.'] });
    const bargeAt = await audio.now();
    const interrupting = audio.say(price.wav);
    await until('the LLM request aborted', () => llm.aborted);
    await until('the TTS stream closed', () => tts.closed);
    assert.equal(tts.finished, false, 'ElevenLabs was still talking when the platform closed it');
    await audio.waitForSilence({ from: bargeAt, ms: 600, timeoutMs: 8000 });
    await interrupting;
    await hearsTone(phone, 'the answer to the interruption');
    const lastMessages = openai.requests[2]!.body.messages.slice(-2);
    assert.deepEqual(lastMessages.at(-1), { role: 'user', content: PRICE_QUESTION });
    assert.equal(lastMessages[0]!.role, 'assistant');
    assert.ok((lastMessages[0]!.content ?? '').startsWith(LONG_ANSWER), `the cut-short answer stays in the conversation: ${JSON.stringify(lastMessages[0])}`);

    const answered = await waitServiceCall(server, serviceId, (c) => turnsOf(c.transcript).some(([r, t]) => r === 'agent' && t === PRICE_ANSWER), 15_000);
    await phone.invoke('hangup');
    await phone.waitState('ready');
    const call: ServiceCall = await waitServiceCall(server, serviceId);
    assert.equal(call.status, 'completed');
    assert.equal(call.agent, 'vendors');
    assert.deepEqual(turnsOf(call.transcript), [
      ['agent', GREETING],
      ['user', HOURS_QUESTION],
      ['agent', HOURS_ANSWER],
      ['user', LONG_QUESTION],
      ['agent', LONG_ANSWER],
      ['user', PRICE_QUESTION],
      ['agent', PRICE_ANSWER],
    ], answered.transcript);
    await until('the Deepgram stream closed', () => stt.closed);
    assert.equal(stt.closeStream, true, 'the platform ended the Deepgram stream with CloseStream');
    assert.deepEqual(vendorKeysIn(server.output()), [], 'no vendor key is in the server log');
  });

  test('the LLM fails mid-call (HTTP 500): the caller hears the spoken apology, the agent hangs up cleanly, the reason is in the journey and the log', async () => {
    const hours = await speak(HOURS_QUESTION);
    const { phone, audio, callId, serviceId, stt } = await callAgent();
    await hearsTone(phone, 'the greeting');
    await audio.waitForSilence({ from: await audio.now(), ms: 800, timeoutMs: 15_000 });
    listening.transcripts.push(HOURS_QUESTION);
    const requests = openai.requests.length;
    openai.answer({ status: 500, code: 'server_error' });
    const asked = await audio.say(hours.wav);
    await until('the failing completion', () => openai.requests.length > requests);
    // The apology is espeak-ng speech: sound, and not the ElevenLabs tone.
    const apologyAt = await audio.waitForSound({ from: asked.endedAt, ms: 300, timeoutMs: 10_000 });
    const apology = await phone.heardAudio(600);
    assert.ok(apology.rms > 0.01 && Math.abs(apology.peakHz - TONE_HZ) > 25, `speech, not the tone, after the failure: ${JSON.stringify(apology)}`);
    await phone.waitState('ready', 20_000);
    assert.ok((await audio.energy(apologyAt, apologyAt + 1500)) > 0.005, 'the apology went on for more than a moment');
    const ended = await phone.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
    const call = await waitServiceCall(server, serviceId);
    assert.equal(call.status, 'completed');
    assert.deepEqual(turnsOf(call.transcript), [['agent', GREETING], ['user', HOURS_QUESTION]], call.transcript);
    const journey = await fetch(`${server.url}/api/v1/calls/${callId}/journey`, { headers: { 'x-api-key': server.apiKey } }).then((r) => r.json() as Promise<{ steps: { action: string; status: string }[] }>);
    assert.ok(journey.steps.some((s) => s.action === 'Agent' && s.status === 'hangup (agent_error)'), `the journey ends with the agent's error: ${JSON.stringify(journey.steps)}`);
    await until('the Deepgram stream closed', () => stt.closed);
    const logged = server.output().split('\n').find((line) => line.includes('agent pipeline: openai: HTTP 500 (server_error)'));
    assert.ok(logged, 'the failure is logged with its reason');
    assert.deepEqual(vendorKeysIn(server.output()), [], 'no vendor key is in the server log');
  });
});
