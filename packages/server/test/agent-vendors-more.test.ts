// The OpenAI speech-to-text and text-to-speech, Anthropic and Cartesia adapters against protocol-faithful fakes (auth,
// request shape, streamed answers, 401/429/5xx, error events, dropped connections, aborts), their selection by
// credentials, and the streaming pipeline with Anthropic and Cartesia (barge-in cancels both; a failure gets the apology).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentSpec } from '../src/audio/agent-audio.js';
import type { EngineHost } from '../src/audio/engine.js';
import { Pipeline, type DialogueOutput, type TextToSpeech } from '../src/audio/pipeline.js';
import { VoiceDetector } from '../src/audio/vad.js';
import { LLM_ADAPTERS, STT_ADAPTERS, TTS_ADAPTERS } from '../src/agents/vendors/adapters.js';
import { AnthropicDialogue } from '../src/agents/vendors/anthropic-llm.js';
import { CartesiaTts } from '../src/agents/vendors/cartesia-tts.js';
import { DeepgramStt } from '../src/agents/vendors/deepgram-stt.js';
import { OpenAiStt } from '../src/agents/vendors/openai-stt.js';
import { OpenAiTts } from '../src/agents/vendors/openai-tts.js';
import { selectVendors } from '../src/agents/vendors/select.js';
import { FakeAnthropic } from './fakes/anthropic.js';
import { FakeCartesia } from './fakes/cartesia.js';
import { FakeDeepgram } from './fakes/deepgram.js';
import { FakeOpenAiAudio } from './fakes/openai-audio.js';
import { abortWhen, agent, collect, holdsNoKey, never, recordingHost, samplesOf, until } from './vendor-helpers.js';

const KEYS = { openai: 'sk-audio-secret-4321', anthropic: 'sk-ant-secret-8765', cartesia: 'sk_car_secret-2109', deepgram: 'dg-more-secret-6543' };
const spec: AgentSpec = { key: 'support', name: 'Support', language: 'en-US', provider: 'pipecat', url: null, greeting: 'Hello, support here.', prompt: 'Help with astral.', voice: null, llmModel: 'claude-test' };
const noSecret = (text: string) => holdsNoKey(text, Object.values(KEYS));

describe('vendor selection with the OpenAI audio, Anthropic and Cartesia adapters', () => {
  test('an OpenAI key alone runs all three stages on OpenAI; Anthropic and Cartesia keys pick them', () => {
    assert.deepEqual(Object.values(selectVendors(agent(), { openai_api_key: 'o' })).map((c) => c.vendor), ['openai', 'openai', 'openai']);
    const plan = selectVendors(agent({ baseUrls: { cartesia: 'ws://tts.local' } }), { anthropic_api_key: 'a', cartesia_api_key: 'c', deepgram_api_key: 'd' });
    assert.deepEqual(plan, {
      stt: { vendor: 'deepgram', apiKey: 'd', baseUrl: null },
      llm: { vendor: 'anthropic', apiKey: 'a', baseUrl: null },
      tts: { vendor: 'cartesia', apiKey: 'c', baseUrl: 'ws://tts.local' },
    });
    assert.deepEqual(Object.values(selectVendors(agent({ stt: 'openai', llm: 'anthropic', tts: 'openai' }), { openai_api_key: 'o', anthropic_api_key: 'a', deepgram_api_key: 'd', elevenlabs_api_key: 'e' })).map((c) => c.vendor), ['openai', 'anthropic', 'openai']);
    assert.throws(() => selectVendors(agent({ tts: 'cartesia' }), {}), (err: Error) => /cartesia_api_key/.test(err.message));
  });

  test('the registry builds each adapter with the agent and its rate', () => {
    const ctx = { agent: spec, vendor: { apiKey: 'k', baseUrl: null } };
    assert.ok(STT_ADAPTERS.openai!(ctx) instanceof OpenAiStt);
    assert.ok(LLM_ADAPTERS.anthropic!(ctx) instanceof AnthropicDialogue);
    assert.equal(TTS_ADAPTERS.openai!(ctx).sampleRate, 24_000);
    assert.equal(TTS_ADAPTERS.cartesia!(ctx).sampleRate, 16_000);
  });
});

describe('OpenAI speech-to-text and text-to-speech against their fake', () => {
  let fake: FakeOpenAiAudio;
  before(async () => (fake = await FakeOpenAiAudio.start(KEYS.openai)));
  after(() => fake.close());

  test('transcriptions: the utterance as a 16 kHz WAV with the model and the language; its text back', async () => {
    const pcm = Int16Array.from({ length: 3200 }, (_, i) => (i * 37) % 2000);
    fake.answer({ ok: true, text: ' what are your hours ' });
    const stt = new OpenAiStt({ apiKey: KEYS.openai, baseUrl: fake.url, language: 'en-US' });
    assert.equal(await stt.transcribe(pcm, never()), 'what are your hours');
    const request = fake.transcriptions.at(-1)!;
    assert.equal(request.model, 'gpt-4o-mini-transcribe');
    assert.equal(request.language, 'en');
    assert.equal(request.responseFormat, 'json');
    assert.equal(request.fileType, 'audio/wav');
    assert.match(request.fileName, /\.wav$/);
    assert.equal(request.sampleRate, 16_000);
    assert.deepEqual(request.samples, pcm);
  });

  test('transcriptions: 401, 429 with retry-after, 5xx and a dropped connection are errors without the key; an abort cancels', async () => {
    const wrong = new OpenAiStt({ apiKey: 'sk-wrong-0000', baseUrl: fake.url, language: 'en' });
    await assert.rejects(wrong.transcribe(new Int16Array(320), never()), (err: Error) => err.name === 'VendorError' && err.message === 'openai: HTTP 401 (invalid_api_key)');
    const stt = new OpenAiStt({ apiKey: KEYS.openai, baseUrl: fake.url, language: 'en' });
    fake.answer({ status: 429, code: 'rate_limit_exceeded', retryAfter: 7 });
    await assert.rejects(stt.transcribe(new Int16Array(320), never()), (err: Error) => err.message === 'openai: HTTP 429 (rate_limit_exceeded), retry after 7 s');
    fake.answer({ status: 503, code: 'server_error' });
    await assert.rejects(stt.transcribe(new Int16Array(320), never()), (err: Error) => err.message === 'openai: HTTP 503 (server_error)');
    fake.answer({ drop: true });
    await assert.rejects(stt.transcribe(new Int16Array(320), never()), (err: Error) => /^openai: the (request failed|transcription broke off)/.test(err.message) && noSecret(err.message));
    fake.answer({ stall: true });
    const controller = new AbortController();
    const pending = stt.transcribe(new Int16Array(320), controller.signal);
    const count = fake.transcriptions.length;
    await until('the stalled request', () => fake.transcriptions.length > count);
    controller.abort();
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
  });

  test('speech: model, voice, pcm; the 24 kHz body streamed in whole samples', async () => {
    const tts = new OpenAiTts({ apiKey: KEYS.openai, baseUrl: fake.url, voice: 'marin' });
    assert.equal(tts.sampleRate, 24_000);
    const chunks = await collect(tts.synthesize('Good morning.', never()));
    assert.equal(samplesOf(chunks), 24 * 20 * 'Good morning.'.length);
    assert.deepEqual(fake.speeches.at(-1)!.body, { model: 'gpt-4o-mini-tts', input: 'Good morning.', voice: 'marin', response_format: 'pcm' });
    await collect(new OpenAiTts({ apiKey: KEYS.openai, baseUrl: fake.url, voice: '21m00Tcm4TlvDq8ikWAM' }).synthesize('Hi.', never()));
    assert.equal(fake.speeches.at(-1)!.body.voice, 'alloy', 'a voice id of another vendor falls back to the default');
  });

  test('speech: 401, 429, a body dropped midway are errors without the key; a barge-in aborts the stream', async () => {
    const wrong = new OpenAiTts({ apiKey: 'sk-wrong-0000', baseUrl: fake.url, voice: null });
    await assert.rejects(collect(wrong.synthesize('Hi.', never())), (err: Error) => err.message === 'openai: HTTP 401 (invalid_api_key)');
    const tts = new OpenAiTts({ apiKey: KEYS.openai, baseUrl: fake.url, voice: null });
    fake.answer({ status: 429, code: 'rate_limit_exceeded', retryAfter: 2 });
    await assert.rejects(collect(tts.synthesize('Hi.', never())), (err: Error) => err.message === 'openai: HTTP 429 (rate_limit_exceeded), retry after 2 s');
    fake.answer({ drop: true });
    await assert.rejects(collect(tts.synthesize('Hello there, how are you?', never())), (err: Error) => err.name === 'VendorError' && /^openai: the speech stream broke/.test(err.message) && noSecret(err.message));
    // Audio is yielded as the body arrives (the stalled body never ends), and the barge-in aborts the request.
    fake.answer({ stall: true });
    const err = await abortWhen((signal) => tts.synthesize('Hello there, how are you?', signal), (got) => got.length > 0);
    assert.equal(err.name, 'AbortError');
    await until('the speech request aborted', () => fake.speeches.at(-1)!.aborted);
  });
});

describe('Anthropic messages against its fake', () => {
  let fake: FakeAnthropic;
  before(async () => (fake = await FakeAnthropic.start(KEYS.anthropic)));
  after(() => fake.close());

  test('a streamed reply with the headers, the system prompt, the model and the tools; tool calls become actions', async () => {
    const dialogue = new AnthropicDialogue({ apiKey: KEYS.anthropic, baseUrl: fake.url, agent: spec });
    assert.deepEqual(await collect(dialogue.greet()), ['Hello, support here.']);
    fake.answer({ text: ['We open ', 'at nine. ', 'Anything else?'] });
    assert.deepEqual(await collect(dialogue.respond('when do you open', never())), ['We open ', 'at nine. ', 'Anything else?']);
    fake.answer({ text: ['Putting you through. '], toolCalls: [{ name: 'transfer_call', input: '{"destination":"queue-sales"}' }, { name: 'send_dtmf', input: '{"digits":"not digits"}' }] });
    const out: DialogueOutput[] = await collect(dialogue.respond('sales please', never()));
    assert.deepEqual(out, ['Putting you through. ', { transfer: 'queue-sales' }]);
    fake.answer({ text: ['Bye.'], toolCalls: [{ name: 'end_call', input: '' }] });
    assert.deepEqual(await collect(dialogue.respond('', never())), ['Bye.', { hangUp: 'the agent ended the call' }]);

    const [first, second, third] = fake.requests.slice(-3);
    assert.equal(first!.headers['anthropic-version'], '2023-06-01');
    assert.equal(first!.body.stream, true);
    assert.equal(first!.body.model, 'claude-test');
    assert.ok(first!.body.max_tokens > 0);
    assert.match(first!.body.system!, /Help with astral\./);
    assert.match(first!.body.system!, /Hello, support here\./);
    assert.deepEqual(first!.body.tools!.map((t) => t.name), ['end_call', 'transfer_call', 'send_dtmf']);
    assert.equal((first!.body.tools![1]!.input_schema as { required: string[] }).required[0], 'destination');
    assert.deepEqual(first!.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'when do you open' }] }]);
    assert.deepEqual(second!.body.messages.map((m) => m.role), ['user', 'assistant', 'user']);
    // The tool calls and their results are in the history, the results before the caller's next words.
    const assistant = third!.body.messages[3]!.content as { type: string; name?: string; input?: unknown }[];
    assert.deepEqual(assistant.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
    assert.deepEqual(assistant[1]!.input, { destination: 'queue-sales' });
    const results = third!.body.messages[4]!.content as { type: string; tool_use_id?: string; text?: string }[];
    assert.deepEqual(results.map((b) => b.type), ['tool_result', 'tool_result', 'text']);
    assert.deepEqual(results.map((b) => b.tool_use_id ?? b.text), ['toolu_1', 'toolu_2', '(inaudible)']);
  });

  test('401, 429 with retry-after, 529, an error event and a dropped stream are errors without the key; an abort cancels', async () => {
    const wrong = new AnthropicDialogue({ apiKey: 'sk-ant-wrong', baseUrl: fake.url, agent: spec });
    await assert.rejects(collect(wrong.respond('hi', never())), (err: Error) => err.name === 'VendorError' && err.message === 'anthropic: HTTP 401 (authentication_error)');
    const dialogue = new AnthropicDialogue({ apiKey: KEYS.anthropic, baseUrl: fake.url, agent: spec });
    fake.answer({ status: 429, type: 'rate_limit_error', retryAfter: 30 });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === 'anthropic: HTTP 429 (rate_limit_error), retry after 30 s');
    fake.answer({ status: 529, type: 'overloaded_error' });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === 'anthropic: HTTP 529 (overloaded_error)');
    fake.answer({ streamError: 'overloaded_error', after: ['Let me '] });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => err.message === 'anthropic: stream error (overloaded_error)');
    fake.answer({ dropAfter: ['Half a '] });
    await assert.rejects(collect(dialogue.respond('hi', never())), (err: Error) => /^anthropic: the (stream (broke|ended)|request failed)/.test(err.message) && noSecret(err.message));
    fake.answer({ stall: ['Let me check. '] });
    const err = await abortWhen((signal) => dialogue.respond('hi', signal), (got) => got.length > 0);
    assert.equal(err.name, 'AbortError');
    await until('the request aborted', () => fake.requests.at(-1)!.aborted);
    // What was said before the barge-in stays in the history; the caller's turns since share one user message.
    fake.answer({ text: ['Sure.'] });
    await collect(dialogue.respond('go on', never()));
    const messages = fake.requests.at(-1)!.body.messages;
    assert.deepEqual(messages.at(-2), { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }] });
    assert.equal(messages.at(-1)!.role, 'user');
  });
});

describe('Cartesia WebSocket TTS against its fake', () => {
  let fake: FakeCartesia;
  before(async () => (fake = await FakeCartesia.start(KEYS.cartesia)));
  after(() => fake.close());

  test('a generation request with the key and version in headers; base64 PCM chunks back until done', async () => {
    const tts = new CartesiaTts({ apiKey: KEYS.cartesia, baseUrl: fake.url, voiceId: 'voice-uuid-1', language: 'en-US' });
    const chunks = await collect(tts.synthesize('Hello there.', never()));
    assert.equal(samplesOf(chunks), 16 * 20 * 'Hello there. '.trim().length);
    const session = fake.sessions.at(-1)!;
    assert.equal(session.headers['x-api-key'], KEYS.cartesia);
    assert.match(String(session.headers['cartesia-version']), /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(noSecret(session.url), 'the key is not in the URL');
    const [request] = session.messages;
    assert.equal(request!.transcript, 'Hello there. ');
    assert.deepEqual(request!.voice, { mode: 'id', id: 'voice-uuid-1' });
    assert.deepEqual(request!.output_format, { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16_000 });
    assert.equal(request!.language, 'en');
    assert.equal(request!.continue, false);
    assert.match(String(request!.context_id), /^[\w-]+$/);
    await until('the socket closed', () => session.closed);
  });

  test('401, an error message and a dropped connection are errors without the key; a barge-in cancels the context', async () => {
    const wrong = new CartesiaTts({ apiKey: 'sk_car_wrong', baseUrl: fake.url, voiceId: null, language: 'en' });
    await assert.rejects(collect(wrong.synthesize('Hi.', never())), (err: Error) => err.name === 'VendorError' && /^cartesia: .*401/.test(err.message));
    const tts = new CartesiaTts({ apiKey: KEYS.cartesia, baseUrl: fake.url, voiceId: null, language: 'en' });
    fake.behaviours.push('error', 'drop', 'stall');
    await assert.rejects(collect(tts.synthesize('Hi.', never())), (err: Error) => err.message === 'cartesia: error message (credits_exhausted)');
    await assert.rejects(collect(tts.synthesize('Hello there, how are you?', never())), (err: Error) => /^cartesia: the connection closed/.test(err.message) && noSecret(err.message));
    const err = await abortWhen((signal) => tts.synthesize('Hello there, how are you?', signal), (got) => got.length > 0);
    assert.equal(err.name, 'AbortError');
    const session = fake.sessions.at(-1)!;
    await until('the cancel and the close', () => session.closed && session.messages.length === 2);
    assert.deepEqual(session.messages[1], { context_id: session.messages[0]!.context_id, cancel: true });
  });
});

describe('Cartesia prewarm', () => {
  let fake: FakeCartesia;
  before(async () => (fake = await FakeCartesia.start(KEYS.cartesia, 20, { connectMs: 30 })));
  after(() => fake.close());

  test('a socket connected ahead carries the next generation request; close() closes an unused spare', async () => {
    const tts = new CartesiaTts({ apiKey: KEYS.cartesia, baseUrl: fake.url, voiceId: null, language: 'en' });
    tts.prewarm();
    const spare = await until('the spare connected', () => fake.sessions[0]);
    assert.equal(spare.messages.length, 0);
    const chunks = await collect(tts.synthesize('Hello there.', never()));
    assert.equal(samplesOf(chunks), 16 * 20 * 'Hello there.'.length);
    assert.equal(fake.sessions.length, 1, 'the request went over the spare');
    assert.equal(spare.messages[0]!.transcript, 'Hello there. ');
    // Taken while still connecting: the request waits for the open.
    tts.prewarm();
    assert.ok(samplesOf(await collect(tts.synthesize('Hi.', never()))) > 0);
    assert.equal(fake.sessions.length, 2);
    tts.prewarm();
    const unused = await until('another spare', () => fake.sessions[2]);
    tts.close();
    await until('the unused spare closed', () => unused.closed);
  });
});

describe('the streaming pipeline with Anthropic and Cartesia', () => {
  let deepgram: FakeDeepgram;
  let anthropic: FakeAnthropic;
  let cartesia: FakeCartesia;
  before(async () => {
    [deepgram, anthropic, cartesia] = await Promise.all([FakeDeepgram.start(KEYS.deepgram), FakeAnthropic.start(KEYS.anthropic), FakeCartesia.start(KEYS.cartesia)]);
  });
  after(() => Promise.all([deepgram.close(), anthropic.close(), cartesia.close()]));

  const pipeline = async (h: EngineHost, apology?: TextToSpeech) =>
    new Pipeline(
      {
        stt: new DeepgramStt({ apiKey: KEYS.deepgram, baseUrl: deepgram.url, language: 'en' }),
        dialogue: new AnthropicDialogue({ apiKey: KEYS.anthropic, baseUrl: anthropic.url, agent: spec }),
        tts: new CartesiaTts({ apiKey: KEYS.cartesia, baseUrl: cartesia.url, voiceId: null, language: 'en' }),
        vad: await VoiceDetector.create(),
        ...(apology ? { apology: { text: 'Sorry.', tts: apology } } : {}),
      },
      h,
    );

  test('a sentence is spoken while Anthropic still streams; barge-in aborts the request and cancels the Cartesia context', async () => {
    const { host: h, events } = recordingHost();
    const engine = await pipeline(h);
    engine.answered();
    engine.hear(new Int16Array(320));
    const stt = await deepgram.session(640);
    await until('the greeting synthesised', () => cartesia.sessions.some((s) => s.messages[0]?.transcript === 'Hello, support here. '));
    anthropic.answer({ stall: ['We are open ', 'until six. ', 'And on'] });
    cartesia.behaviours.push('stall');
    deepgram.results(stt, 'when are you open', { isFinal: true, speechFinal: true });
    const tts = await until('the first sentence synthesised before the reply ended', () => cartesia.sessions.find((s) => s.messages[0]?.transcript === 'We are open until six. '));
    const llm = anthropic.requests.at(-1)!;
    assert.equal(llm.aborted, false);
    deepgram.results(stt, 'wait', { isFinal: false });
    await until('the Anthropic request aborted', () => llm.aborted);
    await until('the Cartesia context cancelled', () => tts.closed && tts.messages.some((m) => m.cancel === true));
    assert.ok(events.includes('clear'));
    engine.close();
  });

  test('a Cartesia failure mid-reply gets the apology, then the error ends the call; no key in it', async () => {
    const { host: h, events, pushed } = recordingHost();
    const apology: TextToSpeech = { sampleRate: 16_000, synthesize: async function* () { yield new Int16Array(160).fill(9); } };
    const engine = await pipeline(h, apology);
    engine.answered();
    engine.hear(new Int16Array(320));
    const stt = await deepgram.session(640);
    await until('the greeting synthesised', () => cartesia.sessions.some((s) => s.messages[0]?.transcript === 'Hello, support here. ' && s.closed));
    cartesia.behaviours.push('error');
    anthropic.answer({ text: ['One moment please. '] });
    deepgram.results(stt, 'hello', { isFinal: true, speechFinal: true });
    const error = await until('the error', () => events.find((e) => e.startsWith('error:')));
    assert.equal(error, 'error:agent pipeline: cartesia: error message (credits_exhausted)');
    assert.ok(pushed.some((p) => p[0] === 9), 'the apology was spoken');
    assert.ok(noSecret(events.join('\n')));
    engine.close();
  });
});
