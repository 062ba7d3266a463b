// The Google adapters (Gemini dialogue, Cloud Text-to-Speech, Cloud Speech-to-Text) against a protocol-faithful fake: the
// key in x-goog-api-key, request shapes, streamed replies with function calls, 400/401/403/429/500, an error chunk, a
// dropped connection, aborts, no key in any error; their selection by the stored google_api_key; the pipeline on all three.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentSpec } from '../src/audio/agent-audio.js';
import { Pipeline, type DialogueOutput } from '../src/audio/pipeline.js';
import { VoiceDetector } from '../src/audio/vad.js';
import { LLM_ADAPTERS, STT_ADAPTERS, TTS_ADAPTERS } from '../src/agents/vendors/adapters.js';
import { geminiSchema, GoogleDialogue } from '../src/agents/vendors/google-llm.js';
import { GoogleStt } from '../src/agents/vendors/google-stt.js';
import { GoogleTts } from '../src/agents/vendors/google-tts.js';
import { AGENT_TOOLS } from '../src/agents/vendors/openai-llm.js';
import { selectVendors } from '../src/agents/vendors/select.js';
import { FakeGoogle } from './fakes/google.js';
import { agent, collect, holdsNoKey, never, recordingHost, samplesOf, until, vowel } from './vendor-helpers.js';

const KEY = 'AIzaSy-google-secret-3579';
const spec: AgentSpec = { key: 'desk', name: 'Desk', language: 'en-GB', provider: 'pipecat', url: null, greeting: 'Hello, front desk.', prompt: 'Book rooms.', voice: null, llmModel: 'gemini-test' };
const noSecret = (text: string) => holdsNoKey(text, [KEY]);
/** What each scripted status is answered as: Google's status string in the error. */
const FAILURES = [
  [401, 'google: HTTP 401 (UNAUTHENTICATED)'],
  [403, 'google: HTTP 403 (PERMISSION_DENIED)'],
  [500, 'google: HTTP 500 (INTERNAL)'],
] as const;

describe('Google vendor selection', () => {
  test('a Google key alone runs all three stages on Google; other vendors come first; an explicit google needs the key', () => {
    const plan = selectVendors(agent({ baseUrls: { google: 'http://google.local' } }), { google_api_key: 'g' });
    assert.deepEqual(plan, {
      stt: { vendor: 'google', apiKey: 'g', baseUrl: 'http://google.local' },
      llm: { vendor: 'google', apiKey: 'g', baseUrl: 'http://google.local' },
      tts: { vendor: 'google', apiKey: 'g', baseUrl: 'http://google.local' },
    });
    assert.deepEqual(Object.values(selectVendors(agent(), { google_api_key: 'g', openai_api_key: 'o' })).map((c) => c.vendor), ['openai', 'openai', 'openai']);
    assert.deepEqual(Object.values(selectVendors(agent({ stt: 'google', llm: 'google', tts: 'google' }), { google_api_key: 'g', openai_api_key: 'o' })).map((c) => c.vendor), ['google', 'google', 'google']);
    assert.throws(() => selectVendors(agent({ llm: 'google' }), {}), (err: Error) => /google_api_key/.test(err.message));
  });

  test('the registry builds the Google adapters; TTS at 24 kHz', () => {
    const ctx = { agent: spec, vendor: { apiKey: 'k', baseUrl: null } };
    assert.ok(STT_ADAPTERS.google!(ctx) instanceof GoogleStt);
    assert.ok(LLM_ADAPTERS.google!(ctx) instanceof GoogleDialogue);
    assert.equal(TTS_ADAPTERS.google!(ctx).sampleRate, 24_000);
  });

  test('tool schemas lose the keywords Gemini refuses (additionalProperties, pattern), keep the rest', () => {
    const dtmf = AGENT_TOOLS.find((t) => t.function.name === 'send_dtmf')!.function.parameters;
    assert.deepEqual(geminiSchema(dtmf), { type: 'object', properties: { digits: { type: 'string' } }, required: ['digits'] });
    assert.deepEqual(geminiSchema({ type: 'array', items: { type: 'object', additionalProperties: false, properties: { a: { type: 'string', description: 'x', $comment: 'no' } } } }), {
      type: 'array',
      items: { type: 'object', properties: { a: { type: 'string', description: 'x' } } },
    });
  });
});

describe('Google adapters against their fake', () => {
  let fake: FakeGoogle;
  before(async () => (fake = await FakeGoogle.start(KEY)));
  after(() => fake.close());

  test('Gemini: a streamed reply with the key header, the system instruction, the model and the tools; function calls become actions', async () => {
    const dialogue = new GoogleDialogue({ apiKey: KEY, baseUrl: fake.url, agent: spec });
    assert.deepEqual(await collect(dialogue.greet()), ['Hello, front desk.']);
    fake.gemini({ text: ['We have ', 'rooms. ', 'For when?'] });
    assert.deepEqual(await collect(dialogue.respond('any rooms tonight', never())), ['We have ', 'rooms. ', 'For when?']);
    fake.gemini({ text: ['Connecting you. '], functionCalls: [{ name: 'transfer_call', args: { destination: 'reception' } }, { name: 'send_dtmf', args: { digits: 'not digits' } }] });
    const out: DialogueOutput[] = await collect(dialogue.respond('a person please', never()));
    assert.deepEqual(out, ['Connecting you. ', { transfer: 'reception' }]);
    fake.gemini({ text: ['Goodbye.'], functionCalls: [{ name: 'end_call', args: {} }] });
    assert.deepEqual(await collect(dialogue.respond('', never())), ['Goodbye.', { hangUp: 'the agent ended the call' }]);

    const [first, second, third] = fake.generations.slice(-3);
    assert.equal(first!.model, 'gemini-test');
    assert.equal(first!.query.get('alt'), 'sse');
    assert.equal(first!.headers['x-goog-api-key'], KEY);
    assert.equal(first!.query.get('key'), null, 'the key is not in the URL');
    const system = first!.body.system_instruction!.parts[0]!.text;
    assert.match(system, /Book rooms\./);
    assert.match(system, /Hello, front desk\./);
    assert.match(system, /"en-GB"/);
    const declarations = first!.body.tools![0]!.functionDeclarations;
    assert.deepEqual(declarations.map((d) => d.name), ['end_call', 'transfer_call', 'send_dtmf']);
    assert.ok(!JSON.stringify(declarations).includes('additionalProperties') && !JSON.stringify(declarations).includes('pattern'));
    assert.deepEqual((declarations[1]!.parameters as { required: string[] }).required, ['destination']);
    assert.deepEqual(first!.body.contents, [{ role: 'user', parts: [{ text: 'any rooms tonight' }] }]);
    assert.deepEqual(second!.body.contents.map((c) => c.role), ['user', 'model', 'user']);
    assert.deepEqual(second!.body.contents[1], { role: 'model', parts: [{ text: 'We have rooms. For when?' }] });
    // The function calls go back as they came (the thought signature too); their responses precede the caller's next words.
    const model = third!.body.contents[3]!;
    assert.equal(model.role, 'model');
    assert.deepEqual(model.parts[1], { functionCall: { name: 'transfer_call', args: { destination: 'reception' } }, thoughtSignature: 'c2lnbmF0dXJl' });
    const user = third!.body.contents[4]!.parts;
    assert.deepEqual(user, [
      { functionResponse: { name: 'transfer_call', response: { result: 'done' } } },
      { functionResponse: { name: 'send_dtmf', response: { result: 'error: unknown tool or invalid arguments' } } },
      { text: '(inaudible)' },
    ]);
  });

  test('Gemini: a wrong key, 401, 403, 429 with its retry delay, 500, an error chunk and a dropped stream are errors without the key; an abort cancels', async () => {
    const wrong = new GoogleDialogue({ apiKey: 'AIzaSy-wrong', baseUrl: fake.url, agent: spec });
    await assert.rejects(collect(wrong.respond('hi', never())), (err: Error) => err.name === 'VendorError' && err.message === 'google: HTTP 400 (INVALID_ARGUMENT)');
    const dialogue = new GoogleDialogue({ apiKey: KEY, baseUrl: fake.url, agent: spec });
    for (const [status, message] of FAILURES) {
      fake.gemini({ status });
      await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === message);
    }
    fake.gemini({ status: 429, retryDelay: '17s' });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === 'google: HTTP 429 (RESOURCE_EXHAUSTED), retry after 17 s');
    fake.gemini({ streamError: 503, after: ['Let me '] });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === 'google: stream error (UNAVAILABLE)');
    fake.gemini({ dropAfter: ['Half a '] });
    const errors: Error[] = [];
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => errors.push(err) > 0 && /^google: the (stream (broke|ended)|request failed)/.test(err.message));
    assert.ok(errors.every((e) => noSecret(e.message)));
    fake.gemini({ stall: ['Let me look. '] });
    const controller = new AbortController();
    const got: DialogueOutput[] = [];
    const reading = (async () => {
      for await (const item of dialogue.respond('hi', controller.signal)) got.push(item);
    })();
    await until('the first words', () => got.length > 0);
    controller.abort();
    await assert.rejects(reading, (err: Error) => err.name === 'AbortError');
    await until('the request aborted', () => fake.generations.at(-1)!.aborted);
    // What was said before the barge-in stays in the history.
    fake.gemini({ text: ['Sure.'] });
    await collect(dialogue.respond('go on', never()));
    const contents = fake.generations.at(-1)!.body.contents;
    assert.deepEqual(contents.at(-2), { role: 'model', parts: [{ text: 'Let me look.' }] });
    assert.equal(contents.at(-1)!.role, 'user');
  });

  test('Text-to-Speech: LINEAR16 at 24 kHz with the language or the named voice; the WAV header stripped', async () => {
    const tts = new GoogleTts({ apiKey: KEY, baseUrl: fake.url, voice: null, language: 'en-GB' });
    const [pcm, ...more] = await collect(tts.synthesize('Good evening.', never()));
    assert.equal(more.length, 0);
    assert.equal(pcm!.length, 24 * 20 * 'Good evening.'.length, 'exactly the samples, no header');
    assert.equal(pcm![0], 0, 'the tone starts at zero (a header would start with "RI")');
    const request = fake.syntheses.at(-1)!;
    assert.equal(request.headers['x-goog-api-key'], KEY);
    assert.deepEqual(request.body, { input: { text: 'Good evening.' }, voice: { languageCode: 'en-GB' }, audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 24_000 } });
    await collect(new GoogleTts({ apiKey: KEY, baseUrl: fake.url, voice: 'de-DE-Neural2-B', language: 'en' }).synthesize('Hallo.', never()));
    assert.deepEqual(fake.syntheses.at(-1)!.body.voice, { languageCode: 'de-DE', name: 'de-DE-Neural2-B' });
    await collect(new GoogleTts({ apiKey: KEY, baseUrl: fake.url, voice: '21m00Tcm4TlvDq8ikWAM', language: 'fr-FR' }).synthesize('Salut.', never()));
    assert.deepEqual(fake.syntheses.at(-1)!.body.voice, { languageCode: 'fr-FR' }, 'another vendor\'s voice id falls back to the language');
  });

  test('Text-to-Speech: a wrong key, 401, 403, 429, 500 and a dropped connection are errors without the key; an abort cancels', async () => {
    await assert.rejects(collect(new GoogleTts({ apiKey: 'AIzaSy-wrong', baseUrl: fake.url, voice: null, language: 'en' }).synthesize('Hi.', never())), (err: Error) => err.message === 'google: HTTP 400 (INVALID_ARGUMENT)');
    const tts = new GoogleTts({ apiKey: KEY, baseUrl: fake.url, voice: null, language: 'en' });
    for (const [status, message] of FAILURES) {
      fake.tts({ status });
      await assert.rejects(collect(tts.synthesize('Hi.', never())), (err: Error) => err.message === message);
    }
    fake.tts({ status: 429, retryDelay: '2.5s' });
    await assert.rejects(collect(tts.synthesize('Hi.', never())), (err: Error) => err.message === 'google: HTTP 429 (RESOURCE_EXHAUSTED), retry after 3 s');
    fake.tts({ drop: true });
    await assert.rejects(collect(tts.synthesize('Hi.', never())), (err: Error) => err.name === 'VendorError' && /^google: the (speech broke off|request failed)/.test(err.message) && noSecret(err.message));
    fake.tts({ stall: true });
    const controller = new AbortController();
    const count = fake.syntheses.length;
    const pending = collect(tts.synthesize('Hi.', controller.signal));
    await until('the stalled request', () => fake.syntheses.length > count);
    controller.abort();
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
    await until('the request aborted', () => fake.syntheses.at(-1)!.aborted);
  });

  test('Speech-to-Text: the utterance as base64 LINEAR16 16 kHz with the language; the results joined', async () => {
    const pcm = Int16Array.from({ length: 3200 }, (_, i) => ((i * 53) % 4000) - 2000);
    fake.stt({ transcripts: [' I would like ', 'a double room '] });
    const stt = new GoogleStt({ apiKey: KEY, baseUrl: fake.url, language: 'en-GB' });
    assert.equal(await stt.transcribe(pcm, never()), 'I would like a double room');
    const request = fake.recognitions.at(-1)!;
    assert.equal(request.headers['x-goog-api-key'], KEY);
    assert.deepEqual(request.body.config, { encoding: 'LINEAR16', sampleRateHertz: 16_000, languageCode: 'en-GB', enableAutomaticPunctuation: true });
    assert.deepEqual(request.samples, pcm);
    fake.stt({ transcripts: [] });
    assert.equal(await stt.transcribe(pcm, never()), '', 'nothing recognised: no results');
  });

  test('Speech-to-Text: a wrong key, 401, 403, 429, 500 and a dropped connection are errors without the key; an abort cancels', async () => {
    await assert.rejects(new GoogleStt({ apiKey: 'AIzaSy-wrong', baseUrl: fake.url, language: 'en' }).transcribe(new Int16Array(320), never()), (err: Error) => err.message === 'google: HTTP 400 (INVALID_ARGUMENT)');
    const stt = new GoogleStt({ apiKey: KEY, baseUrl: fake.url, language: 'en' });
    for (const [status, message] of [...FAILURES, [429, 'google: HTTP 429 (RESOURCE_EXHAUSTED)']] as const) {
      fake.stt({ status });
      await assert.rejects(stt.transcribe(new Int16Array(320), never()), (err: Error) => err.message === message);
    }
    fake.stt({ drop: true });
    await assert.rejects(stt.transcribe(new Int16Array(320), never()), (err: Error) => /^google: the (recognition broke off|request failed)/.test(err.message) && noSecret(err.message));
    fake.stt({ stall: true });
    const controller = new AbortController();
    const count = fake.recognitions.length;
    const pending = stt.transcribe(new Int16Array(320), controller.signal);
    await until('the stalled request', () => fake.recognitions.length > count);
    controller.abort();
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
  });
});


describe('the pipeline on Google speech-to-text, Gemini and text-to-speech', () => {
  let fake: FakeGoogle;
  before(async () => (fake = await FakeGoogle.start(KEY)));
  after(() => fake.close());

  test("the caller's utterance is recognised, answered by Gemini and spoken at 24 kHz; its end_call hangs up once said", async () => {
    const { host, events, pushed } = recordingHost();
    const vendor = { apiKey: KEY, baseUrl: fake.url };
    const engine = new Pipeline({ stt: new GoogleStt({ ...vendor, language: 'en-GB' }), dialogue: new GoogleDialogue({ ...vendor, agent: spec }), tts: new GoogleTts({ ...vendor, voice: null, language: 'en-GB' }), vad: await VoiceDetector.create() }, host);
    try {
      engine.answered();
      await until('the greeting said', () => events.includes('agent:Hello, front desk.'));
      fake.stt({ transcripts: ['a room for two'] });
      fake.gemini({ text: ['Booked. ', 'Goodbye.'], functionCalls: [{ name: 'end_call', args: { reason: 'booked' } }] });
      engine.hear(new Int16Array(320)); // silence first: the greeting's start is no barge-in, onsets count from here
      for (let i = 0; i < 40; i++) engine.hear(vowel(i));
      for (let i = 0; i < 60; i++) engine.hear(new Int16Array(320)); // past the VAD's hangover, the 700 ms that end the turn
      await until('the hang-up', () => events.some((e) => e.startsWith('hangup:'))).catch((err: Error) => assert.fail(`${err.message}: ${events.join(', ')} (${fake.recognitions.length} recognitions, ${fake.generations.length} generations)`));
      assert.deepEqual(events, ['agent:Hello, front desk.', 'user:a room for two', 'agent:Booked. Goodbye.', 'hangup:the agent ended the call']);
      assert.ok(fake.recognitions.at(-1)!.samples.length >= 40 * 320, 'the whole utterance was sent');
      assert.deepEqual(fake.syntheses.slice(-2).map((r) => (r.body.input as { text: string }).text), ['Booked.', 'Goodbye.']);
      assert.equal(samplesOf(pushed), 24 * 20 * ('Hello, front desk.'.length + 'Booked.'.length + 'Goodbye.'.length));
    } finally {
      engine.close();
    }
  });
});
