// The pipeline's vendors: selection by credentials and agent fields; the Deepgram, OpenAI and ElevenLabs adapters against
// protocol-faithful fakes (auth, request shape, streamed messages, 401, errors, dropped connections); the streaming
// pipeline end to end with them (sentences spoken while the LLM streams, barge-in aborting LLM and TTS, apology on failure).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentSpec } from '../src/audio/agent-audio.js';
import type { EngineHost } from '../src/audio/engine.js';
import { Pipeline, type DialogueOutput, type TextToSpeech } from '../src/audio/pipeline.js';
import { VoiceDetector } from '../src/audio/vad.js';
import { DeepgramStt } from '../src/agents/vendors/deepgram-stt.js';
import { ElevenLabsTts } from '../src/agents/vendors/elevenlabs-tts.js';
import { OpenAiDialogue } from '../src/agents/vendors/openai-llm.js';
import { selectVendors } from '../src/agents/vendors/select.js';
import { FakeDeepgram } from './fakes/deepgram.js';
import { FakeElevenLabs } from './fakes/elevenlabs.js';
import { FakeOpenAi } from './fakes/openai.js';
import { agent, collect, holdsNoKey, recordingHost, samplesOf, until, vowel } from './vendor-helpers.js';

const KEYS = { deepgram: 'dg-secret-1234', openai: 'sk-secret-5678', elevenlabs: 'xi-secret-9012' };
const spec: AgentSpec = { key: 'sales', name: 'Sales', language: 'en', provider: 'pipecat', url: null, greeting: 'Hi, this is Sales.', prompt: 'Sell astral.', voice: 'voice123', llmModel: 'gpt-test' };
const noSecret = (text: string) => holdsNoKey(text, Object.values(KEYS));

/** The Deepgram, OpenAI and ElevenLabs fakes of a suite: started before its tests (handed to `started`), closed after them. */
function vendorFakes(started: (fakes: [FakeDeepgram, FakeOpenAi, FakeElevenLabs]) => void): void {
  let fakes: [FakeDeepgram, FakeOpenAi, FakeElevenLabs] | undefined;
  before(async () => started((fakes = await Promise.all([FakeDeepgram.start(KEYS.deepgram), FakeOpenAi.start(KEYS.openai), FakeElevenLabs.start(KEYS.elevenlabs)]))));
  after(() => Promise.all(fakes?.map((fake) => fake.close()) ?? []));
}

describe('vendor selection', () => {
  test('by credentials: Deepgram, OpenAI, ElevenLabs; none: the local engines; base URLs and keys carried', () => {
    const plan = selectVendors(agent({ baseUrls: { openai: 'http://llm.local/v1' } }), { deepgram_api_key: 'd', openai_api_key: 'o', elevenlabs_api_key: 'e' });
    assert.deepEqual(plan, {
      stt: { vendor: 'deepgram', apiKey: 'd', baseUrl: null },
      llm: { vendor: 'openai', apiKey: 'o', baseUrl: 'http://llm.local/v1' },
      tts: { vendor: 'elevenlabs', apiKey: 'e', baseUrl: null },
    });
    assert.deepEqual(Object.values(selectVendors(agent(), {})).map((c) => c.vendor), ['local', 'local', 'local']);
    assert.equal(selectVendors(agent(), { openai_api_key: 'o' }).llm.vendor, 'openai');
  });

  test('agent fields win; a chosen vendor needs its key unless the agent has its base URL', () => {
    assert.equal(selectVendors(agent({ llm: 'local' }), { openai_api_key: 'o' }).llm.vendor, 'local');
    assert.throws(() => selectVendors(agent({ stt: 'deepgram' }), {}), (err: Error) => /deepgram_api_key/.test(err.message));
    assert.deepEqual(selectVendors(agent({ llm: 'openai', baseUrls: { openai: 'http://ollama:11434/v1' } }), {}).llm, { vendor: 'openai', apiKey: null, baseUrl: 'http://ollama:11434/v1' });
  });
});

describe('vendor adapters against their fakes', () => {
  let deepgram: FakeDeepgram;
  let openai: FakeOpenAi;
  let eleven: FakeElevenLabs;
  vendorFakes((fakes) => ([deepgram, openai, eleven] = fakes));

  test('Deepgram: audio with the token, interim and final results, CloseStream at the end', async () => {
    const heard: string[] = [];
    const errors: Error[] = [];
    const stream = new DeepgramStt({ apiKey: KEYS.deepgram, baseUrl: deepgram.url, language: 'en' }).open({
      partial: (t) => heard.push(`partial:${t}`),
      final: (t, end) => heard.push(`final:${t}:${end}`),
      error: (e) => errors.push(e),
    });
    for (let i = 0; i < 10; i++) stream.send(new Int16Array(320));
    const session = await deepgram.session(6400);
    assert.equal(session.query.get('encoding'), 'linear16');
    assert.equal(session.query.get('sample_rate'), '16000');
    assert.equal(session.query.get('interim_results'), 'true');
    deepgram.results(session, 'what are', { isFinal: false });
    deepgram.results(session, 'what are your hours', { isFinal: true, speechFinal: true });
    await until('results', () => heard.length === 2);
    assert.deepEqual(heard, ['partial:what are', 'final:what are your hours:true']);
    stream.close();
    await until('CloseStream', () => session.closeStream);
    assert.deepEqual(errors, []);
  });

  test('Deepgram: a wrong key (401) and a dropped connection are errors without the key', async () => {
    const errors: Error[] = [];
    const listener = { partial: () => undefined, final: () => undefined, error: (e: Error) => errors.push(e) };
    new DeepgramStt({ apiKey: 'wrong', baseUrl: deepgram.url, language: 'en' }).open(listener);
    await until('401', () => errors.length === 1);
    assert.match(errors[0]!.message, /^deepgram: .*401/);
    const stream = new DeepgramStt({ apiKey: KEYS.deepgram, baseUrl: deepgram.url, language: 'en' }).open(listener);
    stream.send(new Int16Array(320));
    deepgram.drop(await deepgram.session(640));
    await until('drop', () => errors.length === 2);
    assert.match(errors[1]!.message, /^deepgram: the connection closed/);
    assert.ok(errors.every((e) => noSecret(e.message)));
  });

  test('OpenAI: a streamed reply with the conversation, the model and the tools; tool calls become actions', async () => {
    const dialogue = new OpenAiDialogue({ apiKey: KEYS.openai, baseUrl: openai.url, agent: spec });
    assert.deepEqual(await collect(dialogue.greet()), ['Hi, this is Sales.']);
    openai.answer({ text: ['We are ', 'open. ', 'Anything else?'] });
    assert.deepEqual(await collect(dialogue.respond('your hours', new AbortController().signal)), ['We are ', 'open. ', 'Anything else?']);
    openai.answer({ text: ['Transferring you.'], toolCalls: [{ name: 'transfer_call', arguments: '{"destination":"1002"}' }, { name: 'end_call', arguments: '{}' }] });
    const out: DialogueOutput[] = await collect(dialogue.respond('a human please', new AbortController().signal));
    assert.deepEqual(out, ['Transferring you.', { transfer: '1002' }, { hangUp: 'the agent ended the call' }]);
    const [first, second] = openai.requests.slice(-2);
    assert.equal(first!.body.stream, true);
    assert.equal(first!.body.model, 'gpt-test');
    assert.deepEqual(first!.body.messages.map((m) => m.role), ['system', 'assistant', 'user']);
    assert.match(first!.body.messages[0]!.content!, /Sell astral\./);
    assert.deepEqual((first!.body.tools as { function: { name: string } }[]).map((t) => t.function.name), ['end_call', 'transfer_call', 'send_dtmf']);
    assert.deepEqual(second!.body.messages.map((m) => m.role), ['system', 'assistant', 'user', 'assistant', 'user']);
  });

  test('OpenAI: 401, 429, a dropped stream are errors without the key; an abort cancels the request', async () => {
    const wrong = new OpenAiDialogue({ apiKey: 'sk-wrong-5678', baseUrl: openai.url, agent: spec });
    await assert.rejects(collect(wrong.respond('hi', new AbortController().signal)), (err: Error) => err.message === 'openai: HTTP 401 (invalid_api_key)');
    const dialogue = new OpenAiDialogue({ apiKey: KEYS.openai, baseUrl: openai.url, agent: spec });
    openai.answer({ status: 429, code: 'rate_limit_exceeded' });
    await assert.rejects(collect(dialogue.respond('hi', new AbortController().signal)), (err: Error) => err.message === 'openai: HTTP 429 (rate_limit_exceeded)');
    openai.answer({ dropAfter: ['Half a '] });
    await assert.rejects(collect(dialogue.respond('hi', new AbortController().signal)), (err: Error) => /^openai: the (stream (broke|ended)|request failed)/.test(err.message) && noSecret(err.message));
    openai.answer({ stall: ['Let me think. '] });
    const controller = new AbortController();
    const got: DialogueOutput[] = [];
    const reading = (async () => {
      for await (const out of dialogue.respond('hi', controller.signal)) got.push(out);
    })();
    await until('the first delta', () => got.length === 1);
    controller.abort();
    await assert.rejects(reading, (err: Error) => err.name === 'AbortError');
    await until('the request aborted', () => openai.requests.at(-1)!.aborted);
  });

  test('ElevenLabs: the opening, text and closing messages with the key; PCM chunks of a tone back', async () => {
    const tts = new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: 'voice123' });
    const chunks = await collect(tts.synthesize('Hello there.', new AbortController().signal));
    const samples = samplesOf(chunks);
    assert.equal(samples, 16 * 20 * 'Hello there.'.length);
    const session = eleven.sessions.at(-1)!;
    assert.equal(session.voiceId, 'voice123');
    assert.equal(session.query.get('output_format'), 'pcm_16000');
    assert.deepEqual(session.messages.map((m) => m.text), [' ', 'Hello there. ', '']);
  });

  test('ElevenLabs: 401, an error message and a dropped connection are errors without the key', async () => {
    const wrong = new ElevenLabsTts({ apiKey: 'xi-wrong', baseUrl: eleven.url, voiceId: null });
    await assert.rejects(collect(wrong.synthesize('Hi.', new AbortController().signal)), (err: Error) => /^elevenlabs: .*401/.test(err.message));
    const tts = new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: null });
    eleven.behaviours.push('error', 'drop');
    await assert.rejects(collect(tts.synthesize('Hi.', new AbortController().signal)), (err: Error) => err.message === 'elevenlabs: error message (quota_exceeded)');
    await assert.rejects(collect(tts.synthesize('Hi.', new AbortController().signal)), (err: Error) => /^elevenlabs: the connection closed/.test(err.message) && noSecret(err.message));
  });

  test('ElevenLabs prewarm: a socket connects before the sentence and carries it; one spare at a time; close() closes an unused one', async () => {
    const tts = new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: null });
    const count = eleven.sessions.length;
    tts.prewarm();
    tts.prewarm();
    const spare = await until('the spare connected', () => eleven.sessions[count]);
    assert.equal(spare.messages.length, 0, 'nothing is sent before a sentence');
    await collect(tts.synthesize('Hello.', new AbortController().signal));
    assert.equal(eleven.sessions.length, count + 1, 'the sentence went over the spare');
    assert.deepEqual(spare.messages.map((m) => m.text), [' ', 'Hello. ', '']);
    tts.prewarm();
    const unused = await until('another spare', () => eleven.sessions[count + 1]);
    tts.close();
    await until('the unused spare closed', () => unused.closed);
    assert.equal(eleven.sessions.length, count + 2);
    // A spare refused at the handshake: the sentence reports the refusal.
    const wrong = new ElevenLabsTts({ apiKey: 'xi-wrong', baseUrl: eleven.url, voiceId: null });
    wrong.prewarm();
    await assert.rejects(collect(wrong.synthesize('Hi.', new AbortController().signal)), (err: Error) => /^elevenlabs: .*401/.test(err.message) && noSecret(err.message));
  });
});

describe('the streaming pipeline with Deepgram, OpenAI and ElevenLabs fakes', () => {
  let deepgram: FakeDeepgram;
  let openai: FakeOpenAi;
  let eleven: FakeElevenLabs;
  vendorFakes((fakes) => ([deepgram, openai, eleven] = fakes));

  const pipeline = async (host: EngineHost, apology?: TextToSpeech) => {
    const tts = new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: 'voice123' });
    const parts = {
      stt: new DeepgramStt({ apiKey: KEYS.deepgram, baseUrl: deepgram.url, language: 'en' }),
      dialogue: new OpenAiDialogue({ apiKey: KEYS.openai, baseUrl: openai.url, agent: spec }),
      tts,
      vad: await VoiceDetector.create(),
      ...(apology ? { apology: { text: 'Sorry.', tts: apology } } : {}),
    };
    return new Pipeline(parts, host);
  };

  test('a sentence is spoken while the LLM still streams; barge-in aborts the LLM request and the TTS stream', async () => {
    const { host, events, pushed, turns } = recordingHost();
    const engine = await pipeline(host);
    engine.answered();
    for (let i = 0; i < 5; i++) engine.hear(new Int16Array(320));
    const stt = await deepgram.session(3200);
    await until('the greeting synthesised', () => eleven.sessions.some((s) => s.messages.some((m) => m.text === 'Hi, this is Sales. ')));
    await until('the greeting spoken', () => turns.length === 1);
    const greetingAudio = pushed.length;
    openai.answer({ stall: ['We are open ', 'until six. ', 'And on'] });
    eleven.behaviours.push('stall');
    deepgram.results(stt, 'when are you open', { isFinal: true, speechFinal: true });
    const tts = await until('the first sentence synthesised before the reply ended', () => eleven.sessions.find((s) => s.messages.some((m) => m.text === 'We are open until six. ')));
    const llm = openai.requests.at(-1)!;
    assert.equal(llm.aborted, false);
    assert.deepEqual(llm.body.messages.at(-1), { role: 'user', content: 'when are you open' });
    // The caller talks over the reply once its first audio plays (before that, nothing of it was said).
    await until('the first sentence heard', () => pushed.length > greetingAudio);
    deepgram.results(stt, 'wait', { isFinal: false });
    await until('the LLM request aborted', () => llm.aborted);
    await until('the TTS stream closed', () => tts.closed);
    assert.ok(events.includes('clear'));
    assert.deepEqual(turns.map((t) => t.role), ['agent', 'user', 'agent']);
    assert.equal(turns.at(-1)!.interrupted, true);
    engine.close();
  });

  test("the reply's speech socket connects while the LLM still thinks; the call's end closes it", async () => {
    const { host, turns } = recordingHost();
    const engine = await pipeline(host);
    engine.answered();
    engine.hear(new Int16Array(320));
    const stt = await deepgram.session(640);
    await until('the greeting spoken', () => turns.length === 1);
    const count = eleven.sessions.length;
    openai.answer({ stall: [] });
    deepgram.results(stt, 'are you there', { isFinal: true, speechFinal: true });
    const spare = await until('the speech socket connected', () => eleven.sessions[count]);
    const llm = await until('the LLM request', () => openai.requests.at(-1)!.body.messages.at(-1)!.content === 'are you there' && openai.requests.at(-1));
    assert.equal(spare.messages.length, 0, 'connected ahead: no sentence yet');
    engine.close();
    await until('the LLM request aborted and the spare closed', () => llm.aborted && spare.closed);
  });

  test("a turn Deepgram ends right after the caller's last word: the caller's own last frames do not barge in on the reply", async () => {
    const { host, events, turns } = recordingHost();
    const fast = await FakeDeepgram.start(KEYS.deepgram, { transcripts: ['what are your hours'], endpointingMs: 20 });
    const quick = new Pipeline({ stt: new DeepgramStt({ apiKey: KEYS.deepgram, baseUrl: fast.url, language: 'en' }), dialogue: new OpenAiDialogue({ apiKey: KEYS.openai, baseUrl: openai.url, agent: spec }), tts: new ElevenLabsTts({ apiKey: KEYS.elevenlabs, baseUrl: eleven.url, voiceId: null }), vad: await VoiceDetector.create() }, host);
    try {
      quick.answered();
      await until('the greeting spoken', () => turns.length === 1);
      const requests = openai.requests.length;
      openai.answer({ text: ['We are open until six. ', 'Anything else?'] });
      for (let i = 0; i < 40; i++) quick.hear(vowel(i));
      quick.hear(new Int16Array(320)); // the first silent frame: the fake's 20 ms endpointing ends the turn
      const llm = await until('the reply requested', () => openai.requests[requests]);
      for (let i = 0; i < 10; i++) quick.hear(new Int16Array(320)); // the VAD's hangover still calls the first ones speech
      await until('the reply said', () => turns.length === 3).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(turns)} ${events.join(', ')}`));
      assert.equal(llm.aborted, false);
      assert.deepEqual(turns.map((t) => [t.role, t.text, t.interrupted ?? false]), [
        ['agent', 'Hi, this is Sales.', false],
        ['user', 'what are your hours', false],
        ['agent', 'We are open until six. Anything else?', false],
      ]);
      assert.ok(!events.includes('clear'), `no barge-in: ${events.join(', ')}`);
    } finally {
      quick.close();
      await fast.close();
    }
  });

  test('tool calls act once their sentence is said; a failing LLM gets an apology, then the error ends the call', async () => {
    const { host, events, pushed } = recordingHost();
    const apology: TextToSpeech = { sampleRate: 16_000, synthesize: async function* () { yield new Int16Array(160).fill(7); } };
    const engine = await pipeline(host, apology);
    engine.answered();
    engine.hear(new Int16Array(320));
    const stt = await deepgram.session(640);
    openai.answer({ text: ['Connecting you. '], toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"12#"}' }] });
    deepgram.results(stt, 'press one two', { isFinal: true, speechFinal: true });
    await until('the DTMF', () => events.includes('dtmf:12#'));
    openai.answer({ status: 500, code: 'server_error' });
    deepgram.results(stt, 'hello', { isFinal: true, speechFinal: true });
    await until('the error', () => events.some((e) => e.startsWith('error:')));
    assert.ok(pushed.some((p) => p[0] === 7), 'the apology was spoken');
    assert.equal(events.at(-1), 'error:agent pipeline: openai: HTTP 500 (server_error)');
    engine.close();
  });
});
