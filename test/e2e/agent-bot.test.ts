// End to end: a widget calls a `pipecat` agent whose `url` is a media-stream bot in this test (a WebSocket server written
// from Twilio's Media Streams documentation). The server bridges the call to it: connected/start/media/dtmf/stop in,
// media/mark/clear out; then the bot posts its signed call-completed webhook and seed 004's GET /v1/calls shows it.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createAgent, defaultInstanceId, serviceCall, setWebhookSecret, v1, waitServiceCall } from '../helpers/agents.js';
import { openCallerPhone } from '../helpers/mic.js';
import { FRAME_SAMPLES, postCallCompleted, startMediaStreamBot, tone8k, type BotStream, type MediaMessage, type MediaStreamBot, type StartMessage } from '../helpers/media-stream-bot.js';
import type { PhonePage } from '../helpers/phone.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { speak } from '../helpers/speech.js';
import { startStage, type Stage } from '../helpers/stage.js';

const CALLER_HZ = 440; // the caller's fake microphone
const BOT_HZ = 1000; // what the bot says
const SECRET = 'whsec_test_' + Math.random().toString(36).slice(2);

let stage: Stage;
let server: RunningServer;
let bot: MediaStreamBot;
let instanceId: string;
const tokens: Record<string, string> = {};
const extraPages: PhonePage[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The caller dials the bot; resolves with the widget's call id and the bot's stream once `start` has arrived. */
async function callBot(phone: PhonePage): Promise<{ callId: string; stream: BotStream; start: StartMessage }> {
  const callId = (await phone.invoke('call', 'agent:tonebot')) as string;
  const stream = await bot.nextStream();
  const start = (await stream.waitEvent('start')) as StartMessage;
  await phone.waitState('in-call');
  return { callId, stream, start };
}

describe('a media-stream bot (Twilio Media Streams) takes a call', { timeout: 120_000 }, () => {
  before(async () => {
    stage = await startStage({ browsers: { caller: CALLER_HZ } });
    server = stage.server;
    bot = await startMediaStreamBot();
    instanceId = await defaultInstanceId(server);
    await createAgent(server, instanceId, { key: 'tonebot', name: 'Tone bot', provider: 'pipecat', url: bot.url });
    await setWebhookSecret(server, instanceId, SECRET);
    tokens.carol = await mintToken(server, 'carol', { display_name: 'Carol', extension: '1001' });
    tokens.dave = await mintToken(server, 'dave', { display_name: 'Dave', extension: '1002' });
  });
  afterEach(async () => {
    await stage.closePhones();
    await Promise.all(extraPages.splice(0).map((p) => p.close().catch(() => undefined)));
  });
  after(async () => {
    if (process.env.DUMP_SERVER) console.log(server?.output());
    await bot?.close();
    await stage?.close();
  });

  test("connected, start and the caller's media reach the bot; the caller hears the bot; DTMF is forwarded; stop; the signed webhook's transcript shows on GET /v1/calls", async () => {
    const caller = await stage.phone('caller', tokens.carol!);
    const { stream, start } = await callBot(caller);

    // connected first, then start, as the documentation orders them.
    assert.equal(stream.messages[0]?.event, 'connected', stream.summary());
    assert.equal(stream.messages[0]?.protocol, 'Call');
    assert.equal(typeof stream.messages[0]?.version, 'string');
    assert.equal(stream.messages[1]?.event, 'start');
    assert.match(start.start.callSid, /^CA[0-9a-f]{32}$/, 'a Twilio-shaped callSid');
    assert.match(start.start.streamSid, /^MZ[0-9a-f]{32}$/, 'a Twilio-shaped streamSid');
    assert.match(start.start.accountSid, /^AC[0-9a-f]{32}$/, 'a Twilio-shaped accountSid');
    assert.equal(start.streamSid, start.start.streamSid);
    assert.deepEqual(start.start.mediaFormat, { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    assert.ok(Array.isArray(start.start.tracks) && start.start.tracks.includes('inbound'), `tracks: ${JSON.stringify(start.start.tracks)}`);
    const params = start.start.customParameters;
    assert.equal(params.agent, 'tonebot');
    assert.equal(params.from, '1001', `from is the caller: ${JSON.stringify(params)}`);
    assert.match(params.to ?? '', /tonebot/, `to is the agent: ${JSON.stringify(params)}`);
    assert.match(params.call_id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'call_id is seed 004\'s UUID');

    // The caller's 440 Hz microphone, as 8 kHz mu-law in 20 ms frames.
    const power = await stream.waitForTone(CALLER_HZ);
    assert.ok(power > 0.3, `the bot hears the caller's tone: ${power}`);
    // The tone can be recognised from 19 frames; the checks below want at least 20.
    for (let waited = 0; stream.messages.filter((m) => m.event === 'media').length < 20 && waited < 2000; waited += 20) await sleep(20);
    const media = stream.messages.filter((m) => m.event === 'media') as MediaMessage[];
    assert.ok(media.length >= 20, `media frames: ${media.length}`);
    const bad = stream.frames.filter((f) => f.payloadBytes !== FRAME_SAMPLES);
    assert.equal(bad.length, 0, `every payload is 160 bytes (20 ms of mu-law); sizes: ${[...new Set(stream.frames.map((f) => f.payloadBytes))]}`);
    for (const m of media) {
      assert.equal(m.streamSid, start.streamSid);
      assert.equal(m.media.track, 'inbound');
    }
    const chunks = media.map((m) => Number(m.media.chunk));
    const stamps = media.map((m) => Number(m.media.timestamp));
    assert.ok(chunks.every((c, i) => i === 0 || c === chunks[i - 1]! + 1), `chunks count up by one: ${chunks.slice(0, 10)}`);
    assert.ok(stamps.every((t, i) => Number.isFinite(t) && (i === 0 || t > stamps[i - 1]!)), `timestamps increase: ${stamps.slice(0, 10)}`);
    const seqs = stream.messages.filter((m) => m.sequenceNumber !== undefined).map((m) => Number(m.sequenceNumber));
    assert.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1), `sequenceNumber counts every message: ${seqs.slice(0, 10)}`);
    assert.equal(stream.problems.length, 0, stream.problems.join('; '));

    // While it lasts: seed 003's active calls and seed 004's call object know it.
    const active = await v1(server, 'GET', `/v1/instances/${instanceId}/channels/voice/calls`);
    assert.equal(active.status, 200);
    assert.ok((active.body as { call_id: string }[]).some((c) => c.call_id === params.call_id), `active calls: ${JSON.stringify(active.body)}`);
    assert.equal((await serviceCall(server, params.call_id!)).status, 'in-progress');

    // The bot talks: the caller hears its 1000 Hz.
    stream.play(tone8k(BOT_HZ, 6));
    const heard = await caller.expectTone(BOT_HZ);
    assert.ok(heard.rms > 0.01, `the caller hears the bot: ${JSON.stringify(heard)}`);

    // A key the caller presses reaches the bot as a dtmf message.
    await caller.invoke('sendDtmf', '7');
    const dtmf = await stream.waitEvent('dtmf');
    assert.equal(dtmf.streamSid, start.streamSid);
    assert.deepEqual(dtmf.dtmf, { track: 'inbound_track', digit: '7' });

    // The caller hangs up: stop, then the platform closes the socket.
    await caller.invoke('hangup');
    const stop = await stream.waitEvent('stop');
    assert.equal(stop.streamSid, start.streamSid);
    assert.deepEqual(stop.stop, { accountSid: start.start.accountSid, callSid: start.start.callSid });
    await Promise.race([stream.closed, sleep(5000).then(() => assert.fail('the platform did not close the stream after stop'))]);

    // The bot's final result: a forged signature is refused, the signed one is stored and shown.
    const transcript = 'agent: Hello, this is the tone bot.\nuser: (a tone at 440 Hz)\nagent: Goodbye.';
    const payload = { event_type: 'call.completed', provider_call_id: start.start.callSid, status: 'completed', transcript, duration: 7 };
    const forged = await postCallCompleted(server.url, 'not-the-secret', payload);
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    const unsigned = await postCallCompleted(server.url, SECRET, payload, '');
    assert.equal(unsigned.status, 401, JSON.stringify(unsigned.body));
    assert.notEqual((await serviceCall(server, params.call_id!)).transcript, transcript, 'a refused webhook stores nothing');
    const signed = await postCallCompleted(server.url, SECRET, payload);
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    const call = await waitServiceCall(server, params.call_id!, (c) => c.status === 'completed' && c.transcript === transcript);
    assert.equal(call.call_id, params.call_id);
    assert.equal(call.agent, 'tonebot');
    assert.equal(call.phone, '1001');
    assert.equal(call.duration, 7);
    assert.ok(call.ended_at, 'ended_at is set');
    assert.doesNotMatch(JSON.stringify(call), /CA[0-9a-f]{32}/, 'the provider id never shows on the service API');
  });

  test('mark round trip after the audio played; the bot clears its long answer when the caller barges in; the bot closing the stream ends the call', async () => {
    const { phone, audio } = await openCallerPhone(stage.browsers.caller!, stage.site.url, server.url, tokens.dave!);
    extraPages.push(phone);
    await phone.waitState('ready');
    const { stream, start } = await callBot(phone);
    await audio.startMeter();

    // One second of audio, then a mark: the mark comes back once that second has played, not when it arrived.
    const sentAt = Date.now();
    stream.play(tone8k(BOT_HZ, 1));
    stream.mark('one-second');
    const t0 = await audio.now();
    const echo = await stream.markEcho('one-second', 6000);
    assert.equal(echo.streamSid, start.streamSid);
    assert.ok(echo.at - sentAt >= 700, `the mark is echoed after its second of audio played, not ${echo.at - sentAt} ms after it was sent`);
    await audio.waitForSound({ from: t0, ms: 300 });

    // A 20 s answer; the caller speaks over it; the bot hears that in the media and sends `clear`.
    const { wav } = await speak('wait a moment please');
    stream.bargeIn = { rms: 800 };
    stream.play(tone8k(BOT_HZ, 20));
    const longSentAt = stream.mark('long-answer');
    const t1 = await audio.now();
    const talking = await audio.waitForSound({ from: t1, ms: 500 });
    const saidAt = await audio.now();
    const saying = audio.say(wav);
    const deadline = Date.now() + 5000;
    while (stream.bargedInAt === null && Date.now() < deadline) await sleep(50);
    assert.ok(stream.bargedInAt !== null, `the bot heard the caller over its own audio (${stream.frames.length} frames)`);
    const cleared = await stream.markEcho('long-answer', 5000);
    assert.ok(cleared.at - stream.bargedInAt! < 2000, `a pending mark is echoed when the audio is cleared (${cleared.at - stream.bargedInAt!} ms after clear)`);
    assert.ok(cleared.at - longSentAt < 10_000, 'long before the 20 s answer would have played');
    // The caller's received audio stops a moment after it started speaking, and stays stopped.
    const silentFrom = await audio.waitForSilence({ from: talking + 500, ms: 1000, timeoutMs: 6000 });
    assert.ok(silentFrom - saidAt < 4000, `the bot's audio stopped ${Math.round(silentFrom - saidAt)} ms after the caller spoke, well before its 20 s ended`);
    await saying;

    // The bot ends the call by closing its socket: the caller is back to ready, seed 004 says completed.
    stream.ws.close(1000, 'bye');
    await phone.waitState('ready', 8000);
    const ended = await phone.waitEvent('astral-call-ended');
    assert.equal(ended.detail.disposition, 'ANSWERED');
    const call = await waitServiceCall(server, start.start.customParameters.call_id!);
    assert.equal(call.status, 'completed');
    assert.ok(call.duration >= 1, `duration ${call.duration}`);
  });
});
