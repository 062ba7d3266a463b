// The agent audio worker on real sockets: a Twilio Media Streams bot (an in-test WebSocket server written from Twilio's docs)
// bridged both ways with marks, clear and garbage; mixing; the local agent heard and answered through espeak-ng and pocketsphinx.
import alawmulaw from 'alawmulaw';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { synthesize } from '../src/agents/local/espeak.js';
import { recognize } from '../src/agents/local/pocketsphinx.js';
import { LOCAL_VENDORS } from '../src/agents/vendors/select.js';
import { AgentAudio, type AgentSpec, type StreamIdentity, type TranscriptTurn } from '../src/audio/agent-audio.js';
import { CallerAudio } from '../src/audio/caller-audio.js';
import { Resampler } from '../src/audio/resample.js';
import { decodeOpusStereo, newOpusDecoder } from '../src/media/opus-decoder.js';
import { buildRtp, parseRtp } from '../src/media/rtp.js';
import { rms, tonePower } from '../../../test/helpers/tone.js';
import { FakeSfu, sleep, tone, until, type Packet } from './fake-sfu.js';

/** One RTP packet as the SFU would send it. */
const rtp = (pt: number, seq: number, ts: number, ssrc: number, payload: Buffer) => buildRtp({ payloadType: pt, marker: false, seq, timestamp: ts, ssrc }, payload);

async function speech48k(text: string): Promise<Int16Array> {
  const resampler = await Resampler.create(22_050, 48_000);
  return resampler.process(await synthesize(text, 'en-us'));
}

/** The agent's Opus packets as 16 kHz audio (what pocketsphinx can recognise). */
async function opusTo16k(packets: Packet[]): Promise<Int16Array> {
  const decoder = newOpusDecoder();
  const resampler = await Resampler.create(48_000, 16_000);
  const parts = packets.map((p) => {
    const stereo = decodeOpusStereo(decoder, p.payload)!;
    return resampler.process(Int16Array.from({ length: stereo.length / 2 }, (_, i) => stereo[2 * i]!));
  });
  decoder.delete();
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

const stream: StreamIdentity = { callSid: 'CA-test', streamSid: 'MZ-test', accountSid: 'AC-test', customParameters: { from: '1001', to: '7000', agent: 'bot', call_id: '42' } };
const botAgent = (url: string): AgentSpec => ({ key: 'bot', name: 'Bot', language: 'en', provider: 'pipecat', url, greeting: null, prompt: null, voice: null, llmModel: null });

test("the caller's audio follows its sequence across the 2^16 wrap and drops late and repeated packets", async () => {
  const frames: Int16Array[] = [];
  const audio = new CallerAudio(8000, (frame) => frames.push(frame));
  const silence = Buffer.from(alawmulaw.mulaw.encode(new Int16Array(160)));
  const loud = Buffer.from(alawmulaw.mulaw.encode(tone(1000, 8000, 160)));
  const send = (seq: number, payload: Buffer) => audio.receive(parseRtp(rtp(0, seq, seq * 160, 0x77, payload))!);
  try {
    // Silence in order across the wrap; the only loud packets are 0 arriving after 1 (late) and 0xffff again (a repeat).
    for (const seq of [0xfffe, 0xffff, 1, 0]) send(seq, seq === 0 ? loud : silence);
    send(0xffff, loud);
    for (const seq of [2, 3, 4, 5]) send(seq, silence);
    await until('the in-order packets mixed', () => frames.length >= 6);
    assert.ok(frames.length <= 7, `one frame per in-order packet: ${frames.length}`);
    assert.ok(frames.every((f) => f.every((x) => x === 0)), 'neither the late nor the repeated packet was heard');
  } finally {
    audio.close();
  }
});

describe('agent audio worker', () => {
  let agents: AgentAudio;
  let wss: WebSocketServer;
  let botUrl: string;
  const bots: { ws: WebSocket; messages: Record<string, any>[] }[] = [];
  const turns: [string, TranscriptTurn][] = [];
  const hangups: [string, string][] = [];
  const errors: [string, string][] = [];

  before(async () => {
    agents = AgentAudio.start();
    agents.on('turn', (id: string, t: TranscriptTurn) => turns.push([id, t]));
    agents.on('hangup', (id: string, reason: string) => hangups.push([id, reason]));
    agents.on('error', (id: string, message: string) => errors.push([id, message]));
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      const bot = { ws, messages: [] as Record<string, any>[] };
      bots.push(bot);
      ws.on('message', (data) => bot.messages.push(JSON.parse(data.toString())));
    });
    await once(wss, 'listening');
    botUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/stream`;
  });
  after(async () => {
    for (const client of wss.clients) client.terminate(); // close() leaves connections a failed test kept open
    wss.close();
    await agents.terminate();
  });

  test('a media-stream bot gets connected and start, then the caller’s µ-law; its media, marks and clear come back', async () => {
    const sfu = await FakeSfu.open();
    const { port } = await agents.open('ms');
    agents.start('ms', { sfuPort: sfu.port, codec: 'PCMU', payloadType: 0, ssrc: 0x5eed, agent: botAgent(botUrl), stream });
    const bot = await until('the bot connection', () => bots[0]);
    await until('connected and start', () => bot.messages.length >= 2);
    assert.deepEqual(bot.messages[0], { event: 'connected', protocol: 'Call', version: '1.0.0' });
    const start = bot.messages[1]!;
    assert.equal(start.event, 'start');
    assert.equal(start.streamSid, 'MZ-test');
    assert.deepEqual(start.start, { streamSid: 'MZ-test', accountSid: 'AC-test', callSid: 'CA-test', tracks: ['inbound'], customParameters: stream.customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } });

    agents.answered('ms');
    await sleep(50);
    for (let i = 0; i < 25; i++) {
      sfu.send(rtp(0, i, i * 160, 0xcafe, Buffer.from(alawmulaw.mulaw.encode(tone(1000, 8000, 160, i * 160)))), port);
      await sleep(20);
    }
    const media = await until('25 media frames', () => {
      const m = bot.messages.filter((x) => x.event === 'media' && x.media.payload);
      return m.length >= 25 && m;
    });
    assert.ok(media.every((m) => m.streamSid === 'MZ-test' && m.media.track === 'inbound' && Buffer.from(m.media.payload, 'base64').length === 160));
    const sequence = bot.messages.slice(1).map((m) => Number(m.sequenceNumber));
    assert.deepEqual(sequence, sequence.map((_, i) => i + 1), 'sequence numbers count every message from start');
    const heard = alawmulaw.mulaw.decode(Buffer.concat(media.slice(-20).map((m) => Buffer.from(m.media.payload, 'base64'))));
    assert.ok(tonePower(heard, 8000, 1000) > 0.3, 'the caller’s 1000 Hz tone reaches the bot');

    for (let i = 0; i < 10; i++) bot.ws.send(JSON.stringify({ event: 'media', streamSid: 'MZ-test', media: { payload: Buffer.from(alawmulaw.mulaw.encode(tone(600, 8000, 160, i * 160))).toString('base64') } }));
    bot.ws.send(JSON.stringify({ event: 'mark', streamSid: 'MZ-test', mark: { name: 'said-it' } }));
    const sentAt = performance.now();
    const mark = await until('the mark echoed', () => bot.messages.find((m) => m.event === 'mark'));
    assert.equal(mark.mark.name, 'said-it');
    assert.ok(performance.now() - sentAt >= 150, 'the mark comes back once its 200 ms of audio have played');
    // The mark is sent with the last frame: that frame's datagram may still be on its way here.
    await until('the 10 frames', () => sfu.packets.length >= 10, 1000);
    const out = sfu.packets;
    assert.equal(out.length, 10);
    assert.ok(out.every((p) => p.pt === 0 && p.ssrc === 0x5eed));
    assert.ok(out[0]!.marker && out.slice(1).every((p) => !p.marker), 'marker on the talk spurt’s first packet only');
    assert.ok(out.slice(1).every((p, i) => p.ts - out[i]!.ts === 160 && p.seq === ((out[i]!.seq + 1) & 0xffff)));
    // Paced by the 20 ms clock, not sent in a burst (a lower bound: load can only stretch it).
    assert.ok(out.at(-1)!.at - out[0]!.at >= 150, `10 frames span ${(out.at(-1)!.at - out[0]!.at).toFixed(0)} ms`);
    assert.ok(tonePower(alawmulaw.mulaw.decode(Buffer.concat(out.map((p) => p.payload))), 8000, 600) > 0.3);

    sfu.packets.length = 0;
    for (let i = 0; i < 100; i++) bot.ws.send(JSON.stringify({ event: 'media', streamSid: 'MZ-test', media: { payload: Buffer.alloc(160, 0x55).toString('base64') } }));
    bot.ws.send(JSON.stringify({ event: 'mark', streamSid: 'MZ-test', mark: { name: 'cleared' } }));
    await sleep(100);
    bot.ws.send(JSON.stringify({ event: 'clear', streamSid: 'MZ-test' }));
    await until('the cleared mark echoed', () => bot.messages.find((m) => m.event === 'mark' && m.mark.name === 'cleared'), 300);
    await sleep(100);
    const afterClear = sfu.packets.length;
    await sleep(100);
    assert.ok(afterClear < 20 && sfu.packets.length === afterClear, `the queued 2 s stop at once (${afterClear} packets)`);

    bot.ws.send('not json');
    bot.ws.send(JSON.stringify({ event: 'media', media: { payload: '!!not base64!!' } }));
    bot.ws.send(Buffer.from([1, 2, 3]));
    bot.ws.send(JSON.stringify({ event: 'mark', mark: {} }));
    agents.dtmf('ms', '5');
    await until('the dtmf event', () => bot.messages.find((m) => m.event === 'dtmf'));
    assert.deepEqual(bot.messages.find((m) => m.event === 'dtmf')!.dtmf, { track: 'inbound_track', digit: '5' });
    const stats = (await agents.stats()).ms!;
    assert.equal(stats.dropped, 4, 'bad JSON, bad base64, a binary frame and a nameless mark are dropped and counted');
    assert.ok(stats.toBot >= 25 && stats.fromBot === 110 && stats.fromSfu === 25 && stats.toSfu >= 10, JSON.stringify(stats));

    agents.close('ms');
    const stop = await until('stop', () => bot.messages.find((m) => m.event === 'stop'));
    assert.deepEqual(stop.stop, { accountSid: 'AC-test', callSid: 'CA-test' });
    await sleep(100);
    assert.deepEqual(hangups, [], 'a leg the platform closes is no hangup');
    sfu.close();
  });

  test('Opus from two SSRCs is mixed for the bot; the bot’s audio leaves as Opus; the bot closing hangs up', async () => {
    const sfu = await FakeSfu.open();
    const { port } = await agents.open('mix');
    agents.start('mix', { sfuPort: sfu.port, codec: 'opus', payloadType: 100, ssrc: 0xabc, agent: botAgent(botUrl), stream });
    const bot = await until('the second bot connection', () => bots[1]);
    agents.answered('mix');
    await until('start', () => bot.messages.length >= 2);
    await Promise.all([sfu.say('opus', port, tone(440, 48_000, 48_000), { ssrc: 0x1111 }), sfu.say('opus', port, tone(1200, 48_000, 48_000), { ssrc: 0x2222 })]);
    // the bot's stream goes on with silence; count the frames carrying the callers' audio once they stop growing
    const voiced = () => bot.messages.filter((m) => m.event === 'media' && rms(alawmulaw.mulaw.decode(Buffer.from(m.media.payload, 'base64'))) > 1000);
    for (let seen = -1; seen !== voiced().length; ) {
      seen = voiced().length;
      await sleep(300);
    }
    const media = voiced();
    assert.ok(media.length >= 45 && media.length <= 55, `about 50 frames for 1 s of two mixed streams, not 100 (${media.length})`);
    const heard = alawmulaw.mulaw.decode(Buffer.concat(media.slice(10, 40).map((m) => Buffer.from(m.media.payload, 'base64'))));
    assert.ok(tonePower(heard, 8000, 440) > 0.1 && tonePower(heard, 8000, 1200) > 0.1, 'both callers are heard');

    for (let i = 0; i < 25; i++) bot.ws.send(JSON.stringify({ event: 'media', media: { payload: Buffer.from(alawmulaw.mulaw.encode(tone(500, 8000, 160, i * 160))).toString('base64') } }));
    await until('25 Opus packets', () => sfu.packets.length >= 25);
    const out = sfu.packets;
    assert.ok(out.every((p) => p.pt === 100 && p.ssrc === 0xabc) && out.slice(1).every((p, i) => p.ts - out[i]!.ts === 960));
    const decoder = newOpusDecoder();
    const pcm = Int16Array.from(out.slice(5).flatMap((p) => [...decodeOpusStereo(decoder, p.payload)!].filter((_, i) => i % 2 === 0)));
    decoder.delete();
    assert.ok(tonePower(pcm, 48_000, 500) > 0.3, 'the bot’s 500 Hz tone, in Opus');

    bot.ws.close();
    await until('the hangup', () => hangups.find(([id]) => id === 'mix'));
    agents.close('mix');
    sfu.close();
  });

  test('the local agent greets, answers what it recognises, stops talking when interrupted, and hangs up after goodbye', async () => {
    const sfu = await FakeSfu.open();
    const { port } = await agents.open('local');
    const agent: AgentSpec = { key: 'akylai', name: 'Akylai', language: 'en', provider: 'local', url: null, greeting: null, prompt: 'do you have parking => Yes, there is parking behind the building.', voice: null, llmModel: null };
    agents.start('local', { sfuPort: sfu.port, codec: 'opus', payloadType: 100, ssrc: 0x10ca1, agent, vendors: LOCAL_VENDORS, stream });
    const agentTurns = () => turns.filter(([id, t]) => id === 'local' && t.role === 'agent').map(([, t]) => t);
    const userTurns = () => turns.filter(([id, t]) => id === 'local' && t.role === 'user').map(([, t]) => t.text);
    let seq = 1;
    const say = async (text: string) => {
      const pcm = await speech48k(text);
      await sfu.say('opus', port, pcm, { ssrc: 0x5a11, start: { seq, ts: seq * 960 } });
      seq += Math.ceil(pcm.length / 960);
    };

    agents.answered('local');
    const greeting = await until('the greeting turn', () => agentTurns()[0], 10_000);
    assert.equal(greeting.text, 'Hello, this is Akylai. How can I help you?');
    assert.match(greeting.at, /^\d{4}-\d\d-\d\dT.*Z$/);
    const heardGreeting = await recognize(await opusTo16k(sfu.packets), ['hello this is', 'how can i help you', 'goodbye', 'opening hours']);
    assert.match(heardGreeting, /how can i help you/, `the greeting's audio is recognisable speech (heard: "${heardGreeting}")`);

    sfu.packets.length = 0;
    await say('do you have parking');
    const answer = await until('the parking answer', () => agentTurns()[1], 10_000);
    assert.deepEqual(userTurns(), ['do you have parking'], 'the prompt’s phrase is in the grammar');
    assert.equal(answer.text, 'Yes, there is parking behind the building.');
    assert.ok(sfu.packets.length > 50, 'the answer was played');

    await say('tell me about astral');
    await until('the long answer playing', () => (sfu.packets.at(-1)?.at ?? 0) > performance.now() - 50 && userTurns().length === 2, 10_000);
    await sleep(1500);
    const speaking = (await agents.stats()).local!;
    assert.ok(speaking.speaking && agentTurns().length === 2, 'the long answer is still being said');
    const interruptedAt = performance.now();
    const goodbye = say('goodbye');
    await until('the agent’s voice stopping', () => performance.now() - sfu.packets.at(-1)!.at > 60, 2000);
    const stoppedAfter = sfu.packets.at(-1)!.at - interruptedAt;
    // The 200 ms target is the benchmark's (bench/agents.ts); here: it stops, long before the ≥ 10 s answer would end.
    assert.ok(stoppedAfter < 3000, `the agent stops talking once the caller speaks (${stoppedAfter.toFixed(0)} ms)`);
    const cut = await until('the interrupted turn', () => agentTurns()[2]);
    assert.equal(cut.interrupted, true);
    assert.match(cut.text, /^Astral is self hosted calling in the browser\./);
    await goodbye;
    const [, reason] = await until('the hangup after goodbye', () => hangups.find(([id]) => id === 'local'), 10_000);
    assert.match(reason, /goodbye/);
    assert.equal(agentTurns()[3]!.text, 'Goodbye, thank you for calling.');
    assert.equal(userTurns()[2], 'goodbye');
    assert.equal((await agents.stats()).local!.bargeIns, 1);
    agents.close('local');
    sfu.close();
  });

  test('an unreachable bot is an error', async () => {
    await agents.open('nobot');
    agents.start('nobot', { sfuPort: 9, codec: 'PCMU', payloadType: 0, ssrc: 1, agent: botAgent('ws://127.0.0.1:1/none'), stream });
    const [, message] = await until('the error', () => errors.find(([id]) => id === 'nobot'));
    assert.match(message, /ECONNREFUSED/);
    agents.close('nobot');
  });
});
