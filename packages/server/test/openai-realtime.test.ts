// The OpenAI Realtime engine in the agent audio worker against a fake Realtime server written from OpenAI's reference
// (test/fakes/openai-realtime.ts): handshake and session.update, the caller's audio appended (pcm16 24 kHz on Opus legs,
// µ-law on G.711 legs), the model's audio played, barge-in (clear, response.cancel, conversation.item.truncate), turns,
// error events and a dropped socket (apology, then a reported error without the key); and the API's key requirement.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { realtimeUrl } from '../src/agents/realtime/session.js';
import { AgentAudio, type AgentCodec, type AgentSpec, type StreamIdentity, type TranscriptTurn } from '../src/audio/agent-audio.js';
import { tonePower } from '../../../test/helpers/tone.js';
import { startRealtimeFake, type RealtimeFake, type RealtimeSession } from './fakes/openai-realtime.js';
import { FakeSfu, sleep, tone, until } from './fake-sfu.js';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './helpers.js';

const KEY = 'sk-test-realtime-0123456789abcdef';
const GREETING_HZ = 700;
const REPLY_HZ = 900;
const CALLER_HZ = 1000;
const GREETING = 'Welcome to the fake restaurant, how can I help you today?';
const REPLY = 'Sure, for what time?';
const HEARD = 'I would like a table for two.';

const stream: StreamIdentity = { callSid: 'CA-rt', streamSid: 'MZ-rt', accountSid: 'AC-rt', customParameters: {} };
const realtimeAgent = (fake: RealtimeFake, apiKey = KEY): AgentSpec => ({
  key: 'rt',
  name: 'Realtime',
  language: 'en-US',
  provider: 'openai-realtime',
  url: null,
  greeting: GREETING,
  prompt: 'You take table reservations for a restaurant.',
  voice: 'cedar',
  llmModel: null,
  realtime: { url: realtimeUrl(fake.baseUrl, null), apiKey },
});

describe('the OpenAI Realtime engine against the fake Realtime server', { timeout: 60_000 }, () => {
  let agents: AgentAudio;
  let fake: RealtimeFake;
  const turns: [string, TranscriptTurn][] = [];
  const hangups: [string, string][] = [];
  const errors: [string, string][] = [];
  const turnsOf = (id: string) => turns.filter(([leg]) => leg === id).map(([, t]) => t);

  before(async () => {
    fake = await startRealtimeFake({ apiKey: KEY, userTranscript: HEARD, replies: [{ text: GREETING, hz: GREETING_HZ, seconds: 20 }, { text: REPLY, hz: REPLY_HZ, seconds: 1 }] });
    agents = AgentAudio.start();
    agents.on('turn', (id: string, t: TranscriptTurn) => turns.push([id, t]));
    agents.on('hangup', (id: string, reason: string) => hangups.push([id, reason]));
    agents.on('error', (id: string, message: string) => errors.push([id, message]));
  });
  after(async () => {
    await agents.terminate();
    await fake.close();
  });

  /** A leg on `codec`, started and answered; resolves once its session.update and greeting request arrived. */
  async function answeredLeg(id: string, codec: AgentCodec, agent = realtimeAgent(fake)): Promise<{ sfu: FakeSfu; port: number; session: RealtimeSession }> {
    const sfu = await FakeSfu.open();
    const { port } = await agents.open(id);
    agents.start(id, { sfuPort: sfu.port, codec, payloadType: codec === 'opus' ? 100 : codec === 'PCMU' ? 0 : 8, ssrc: 0xa6e47, agent, stream });
    const session = await fake.nextSession();
    agents.answered(id);
    await until('session.update and response.create', () => session.types().includes('session.update') && session.types().includes('response.create'));
    return { sfu, port, session };
  }

  test('an Opus leg: Bearer key, session.update (prompt, voice, pcm16 24 kHz, server VAD, transcription), the greeting heard; barge-in clears, cancels and truncates; the turns', async () => {
    const { sfu, port, session } = await answeredLeg('opus', 'opus');
    assert.equal(session.request.headers.authorization, `Bearer ${KEY}`);
    assert.equal(new URL(session.request.url!, 'http://x').searchParams.get('model'), 'gpt-realtime');
    const update = session.received.find((e) => e.type === 'session.update')!;
    assert.equal(update.session.instructions, 'You take table reservations for a restaurant.');
    assert.deepEqual(update.session.audio.input.format, { type: 'audio/pcm', rate: 24000 });
    assert.deepEqual(update.session.audio.output, { format: { type: 'audio/pcm', rate: 24000 }, voice: 'cedar' });
    assert.equal(update.session.audio.input.turn_detection.type, 'server_vad');
    assert.equal(update.session.audio.input.transcription.language, 'en');
    assert.ok(session.types().indexOf('session.update') < session.types().indexOf('response.create'), 'configured before the greeting');
    assert.match(session.received.find((e) => e.type === 'response.create')!.response.instructions, new RegExp(GREETING));

    // The greeting (a 20 s tone, streamed at five times real time) plays as Opus.
    await until('a second of the greeting', () => sfu.packets.length >= 50);
    assert.ok(sfu.packets.every((p) => p.pt === 100));
    assert.ok(tonePower(sfu.heard(10), 48_000, GREETING_HZ) > 0.3, 'the greeting tone, through the 24 → 48 kHz resampler and Opus');

    // The caller speaks over it: the fake's VAD starts a turn; the agent's voice stops.
    await sfu.say('opus', port, tone(CALLER_HZ, 48_000, 48_000));
    await until('speech_started', () => session.speechStartedAt.length === 1);
    await sfu.say('opus', port, new Int16Array(48_000));
    const reply = await until('the reply turn', () => turnsOf('opus').find((t) => t.role === 'agent' && t.text === REPLY));
    assert.ok(sfu.packets.length < 50 * 8, `the 20 s greeting stopped early (${sfu.packets.length} packets in all)`);
    const cancel = session.received.find((e) => e.type === 'response.cancel');
    assert.ok(cancel && cancel.response_id === session.responses[0]!.id, 'response.cancel for the greeting');
    const [truncation] = session.truncations;
    assert.equal(truncation?.item_id, session.responses[0]!.itemId);
    assert.ok(truncation.audio_end_ms >= 1000 && truncation.audio_end_ms < session.responses[0]!.sentMs, `truncated to what was played: ${JSON.stringify(truncation)}`);
    assert.ok(tonePower(sfu.heard(sfu.packets.length - 40), 48_000, REPLY_HZ) > 0.3, 'the reply is heard');

    // The caller's audio reached the session as 20 ms of pcm16 at 24 kHz per append.
    const appends = session.received.filter((e) => e.type === 'input_audio_buffer.append');
    assert.ok(appends.every((e) => Buffer.from(e.audio, 'base64').length === 960), 'each append holds 480 samples');
    const loud = session.heard.filter((pcm) => pcm.reduce((n, x) => n + Math.abs(x), 0) / pcm.length > 2000);
    assert.ok(loud.length > 30 && tonePower(Int16Array.from(loud.flatMap((p) => [...p])), 24_000, CALLER_HZ) > 0.3, 'the caller’s 1 kHz tone, at 24 kHz');

    // Turns: the greeting cut short, what the caller said, the reply — in spoken order.
    const [greeting, user] = turnsOf('opus') as [TranscriptTurn, TranscriptTurn];
    assert.equal(greeting.role, 'agent');
    assert.equal(greeting.interrupted, true);
    assert.ok(GREETING.startsWith(greeting.text) && greeting.text.length < GREETING.length, `the greeting's transcript up to the barge-in: "${greeting.text}"`);
    assert.deepEqual([user.role, user.text], ['user', HEARD]);
    assert.ok(greeting.at < user.at && user.at < reply.at, JSON.stringify(turnsOf('opus')));
    assert.equal((await agents.stats()).opus!.bargeIns, 1);
    assert.deepEqual(session.problems, []);
    assert.deepEqual([hangups, errors], [[], []], 'the cancel the server had already done is no failure');

    agents.close('opus');
    assert.equal(await session.closed, 1000);
    sfu.close();
  });

  test('a G.711 leg: audio/pcmu both ways at 8 kHz (no transcoding); the caller heard, the greeting played as PCMU', async () => {
    const { sfu, port, session } = await answeredLeg('pcmu', 'PCMU');
    const update = session.received.find((e) => e.type === 'session.update')!;
    assert.deepEqual([update.session.audio.input.format, update.session.audio.output.format], [{ type: 'audio/pcmu' }, { type: 'audio/pcmu' }]);
    await until('the greeting', () => sfu.packets.length >= 30);
    assert.ok(sfu.packets.every((p) => p.pt === 0 && p.payload.length === 160));
    assert.ok(tonePower(sfu.heard(5), 8000, GREETING_HZ) > 0.3);
    await sfu.say('PCMU', port, tone(CALLER_HZ, 8000, 8000));
    const appends = session.received.filter((e) => e.type === 'input_audio_buffer.append');
    assert.ok(appends.every((e) => Buffer.from(e.audio, 'base64').length === 160), '20 ms of µ-law per append');
    const loud = session.heard.filter((pcm) => pcm.reduce((n, x) => n + Math.abs(x), 0) / pcm.length > 2000);
    assert.ok(loud.length > 30 && tonePower(Int16Array.from(loud.flatMap((p) => [...p])), 8000, CALLER_HZ) > 0.3);
    assert.deepEqual(session.problems, []);
    agents.close('pcmu');
    sfu.close();
  });

  test('an error event: the caller hears an apology, then the leg reports the error (the key redacted) and the socket is closed', async () => {
    const { sfu, session } = await answeredLeg('err', 'opus');
    await until('the greeting', () => sfu.packets.length >= 25);
    const before = sfu.packets.length;
    session.sendError(`The server had an error while processing your request (${KEY})`);
    const [, message] = await until('the error', () => errors.find(([id]) => id === 'err'), 20_000);
    assert.match(message, /server_error/);
    assert.ok(!message.includes(KEY) && message.includes('[redacted]'), message);
    const apology = sfu.heard(before + 10);
    assert.ok(sfu.packets.length - before > 100 && tonePower(apology, 48_000, GREETING_HZ) < 0.1, 'seconds of speech (not the greeting tone) before the error');
    assert.equal(await session.closed, 1000);
    agents.close('err');
    sfu.close();
  });

  test('a dropped connection: apology, then the error', async () => {
    const { sfu, session } = await answeredLeg('drop', 'PCMU');
    await until('the greeting', () => sfu.packets.length >= 25);
    const before = sfu.packets.length;
    session.drop();
    const [, message] = await until('the error', () => errors.find(([id]) => id === 'drop'), 20_000);
    assert.match(message, /connection closed \(1006/);
    assert.ok(sfu.packets.length - before > 100, 'the apology was played first');
    agents.close('drop');
    sfu.close();
  });

  test('a wrong key is refused at the handshake: an error that holds neither key', async () => {
    const sfu = await FakeSfu.open();
    await agents.open('badkey');
    agents.start('badkey', { sfuPort: sfu.port, codec: 'opus', payloadType: 100, ssrc: 1, agent: realtimeAgent(fake, 'sk-wrong-key-000000'), stream });
    const [, message] = await until('the error', () => errors.find(([id]) => id === 'badkey'));
    assert.match(message, /401/);
    assert.ok(!message.includes('sk-wrong-key') && !message.includes(KEY), message);
    assert.equal(fake.refused.at(-1)?.status, 401);
    agents.close('badkey');
    sfu.close();
  });
});

describe('openai-realtime agents need the voice channel’s OpenAI key', () => {
  let t: TestServer;
  before(async () => (t = await startTestServer()));
  after(() => t.close());
  const id = () => t.server.instanceId;
  const bearer = (body?: unknown) => ({ headers: { authorization: `Bearer ${ADMIN_KEY}` }, ...(body === undefined ? {} : { body }) });

  test('creating one without openai_api_key is a 409; with it, 201; calling it once the key is gone is a 422 on agent', async () => {
    const agent = { key: 'realtime', name: 'Realtime', provider: 'openai-realtime', prompt: 'Be brief.' };
    const refused = await api(t, 'POST', `/v1/instances/${id()}/agents`, bearer(agent));
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(String(refused.body.detail), /openai_api_key/);
    assert.equal((await api(t, 'POST', `/v1/instances/${id()}/channels/voice`, bearer({ provider: 'pipecat', openai_api_key: KEY }))).status, 200);
    const created = await api(t, 'POST', `/v1/instances/${id()}/agents`, bearer(agent));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.provider, 'openai-realtime');
    assert.ok(!JSON.stringify(created.body).includes(KEY));

    assert.equal((await api(t, 'POST', `/v1/instances/${id()}/channels/voice`, bearer({ openai_api_key: '' }))).status, 200);
    const call = await api(t, 'POST', '/v1/calls', bearer({ phone: '+15550001111', agent: 'realtime' }));
    assert.equal(call.status, 422, JSON.stringify(call.body));
    const [problem] = call.body.detail as { loc: string[]; msg: string }[];
    assert.deepEqual(problem?.loc, ['body', 'agent']);
    assert.match(problem.msg, /openai_api_key/);
  });
});
