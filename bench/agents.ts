// AI voice agents: the agent audio worker's bridge latency both ways (a Twilio Media Streams bot in this process), the local
// agent's response time and barge-in latency, the vendor pipeline's voice-to-voice latency (agent-vendors.ts), and CPU per
// leg and main event-loop lag with 10 concurrent local-agent legs.
import alawmulaw from 'alawmulaw';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type { WebSocket, WebSocketServer as WssClass } from 'ws';
import { synthesize } from '../packages/server/src/agents/local/espeak.js';
import { LOCAL_VENDORS } from '../packages/server/src/agents/vendors/select.js';
import { AgentAudio, type AgentSpec, type StreamIdentity } from '../packages/server/src/audio/agent-audio.js';
import { OpusEncoder } from '../packages/server/src/audio/opus-encoder.js';
import { Resampler } from '../packages/server/src/audio/resample.js';
import { INSTANT, TYPICAL, ttsFirstAudio, vendorLatency, type VendorLatencyResult } from './agent-vendors.js';
import { cpuMs, pct } from './proc-stats.js';
import { agentRows, rows } from './sip-load.js';
import { latencyRow, percentile, row } from './stats.js';
import { buildRtp } from '../packages/server/src/media/rtp.js';

// The server's ws (8.x), not the root's (7.x, whose ESM has no named exports).
const { WebSocketServer } = createRequire(new URL('../packages/server/package.json', import.meta.url))('ws') as { WebSocketServer: typeof WssClass };
const LEGS = 10;
const QUESTIONS = 4;
const BRIDGE_FRAMES = 250;
/** 20 ms of µ-law silence, as the worker sends a caller who sends nothing. */
const SILENCE = Buffer.from(alawmulaw.mulaw.encode(new Int16Array(160))).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stream: StreamIdentity = { callSid: 'CA-bench', streamSid: 'MZ-bench', accountSid: 'AC-bench', customParameters: {} };

/** One RTP packet as the SFU would send it. */
const rtp = (pt: number, seq: number, ts: number, ssrc: number, payload: Buffer) => buildRtp({ payloadType: pt, marker: false, seq, timestamp: ts, ssrc }, payload);

/** A UDP socket standing in for a leg's PlainTransport: the times the agent's packets arrive. */
async function sfuSocket(): Promise<{ socket: Socket; port: number; arrivals: number[] }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const arrivals: number[] = [];
  socket.on('message', () => arrivals.push(performance.now()));
  return { socket, port: socket.address().port, arrivals };
}

/** RTP → bot and bot → RTP, 20 ms frames of µ-law, one leg: per frame, sent by one side → received by the other. */
async function bridgeLatency(agents: AgentAudio): Promise<{ toBot: number[]; fromBot: number[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const media: number[] = [];
  const connected = new Promise<WebSocket>((resolve) =>
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.event === 'media' && message.media.payload !== SILENCE) media.push(performance.now()); // not the made-up silence
      });
      resolve(ws);
    }),
  );
  const sfu = await sfuSocket();
  const { port } = await agents.open('bench-bridge');
  const agent: AgentSpec = { key: 'bot', name: 'Bot', language: 'en', provider: 'pipecat', url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, greeting: null, prompt: null, voice: null, llmModel: null };
  agents.start('bench-bridge', { sfuPort: sfu.port, codec: 'PCMU', payloadType: 0, ssrc: 7, agent, vendors: LOCAL_VENDORS, stream });
  const bot = await connected;
  agents.answered('bench-bridge');
  await sleep(100);
  const payload = Buffer.from(alawmulaw.mulaw.encode(new Int16Array(160).map((_, i) => 4000 * Math.sin(i / 3))));
  const sentRtp: number[] = [];
  for (let i = 0; i < BRIDGE_FRAMES; i++) {
    sentRtp.push(performance.now());
    sfu.socket.send(rtp(0, i, i * 160, 99, payload), port, '127.0.0.1');
    await sleep(20);
  }
  await sleep(200);
  const toBot = sentRtp.map((t, i) => media[i]! - t).filter(Number.isFinite);
  const sentMedia: number[] = [];
  const message = JSON.stringify({ event: 'media', streamSid: 'MZ-bench', media: { payload: payload.toString('base64') } });
  const t0 = performance.now();
  for (let i = 0; i < BRIDGE_FRAMES; i++) {
    sentMedia.push(performance.now());
    bot.send(message);
    await sleep(Math.max(0, t0 + (i + 1) * 20 - performance.now()));
  }
  await sleep(200);
  const fromBot = sentMedia.map((t, i) => sfu.arrivals[i]! - t).filter(Number.isFinite);
  agents.close('bench-bridge');
  sfu.socket.close();
  wss.close();
  return { toBot, fromBot };
}

async function opusFrames(text: string): Promise<Buffer[]> {
  const pcm = (await Resampler.create(22_050, 48_000)).process(await synthesize(text, 'en-us'));
  const encoder = new OpusEncoder();
  const frames: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += 960) frames.push(encoder.encode(pcm.subarray(at, at + 960)));
  encoder.delete();
  return frames;
}

/** LEGS local agents at once, each asked QUESTIONS times: end of the caller's speech → the agent's first audio packet. */
async function localLoad(agents: AgentAudio, workerTid: number | null) {
  const question = await opusFrames('what are your opening hours');
  const agent: AgentSpec = { key: 'akylai', name: 'Akylai', language: 'en', provider: 'local', url: null, greeting: null, prompt: null, voice: null, llmModel: null };
  const legs = await Promise.all(
    Array.from({ length: LEGS }, async (_, n) => {
      const id = `bench-local-${n}`;
      const sfu = await sfuSocket();
      const { port } = await agents.open(id);
      agents.start(id, { sfuPort: sfu.port, codec: 'opus', payloadType: 100, ssrc: 100 + n, agent, vendors: LOCAL_VENDORS, stream });
      return { id, sfu, port };
    }),
  );
  const turns = new Map<string, number>();
  agents.on('turn', (id: string, turn: { role: string }) => turn.role === 'agent' && turns.set(id, (turns.get(id) ?? 0) + 1));
  for (const leg of legs) agents.answered(leg.id);
  await sleep(4000); // the greetings
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = { node: cpuMs(process.pid), worker: workerTid ? cpuMs(process.pid, workerTid) : NaN, t: performance.now() };
  const response: number[] = [];
  await Promise.all(
    legs.map(async (leg, n) => {
      await sleep(n * 300); // staggered, as real calls are
      for (let q = 0; q < QUESTIONS; q++) {
        const t0 = performance.now();
        for (const [i, frame] of question.entries()) {
          leg.sfu.socket.send(rtp(100, q * 1000 + i, (q * 1000 + i) * 960, 5000 + n, frame), leg.port, '127.0.0.1');
          await sleep(Math.max(0, t0 + (i + 1) * 20 - performance.now()));
        }
        const endOfSpeech = performance.now();
        const first = await waitFor(() => leg.sfu.arrivals.find((t) => t > endOfSpeech), 8000);
        if (first) response.push(first - endOfSpeech);
        await sleep(6000); // the answer plays out
      }
    }),
  );
  const seconds = (performance.now() - cpu0.t) / 1000;
  const cpu = { node: (cpuMs(process.pid) - cpu0.node) / (seconds * 10), worker: workerTid ? (cpuMs(process.pid, workerTid) - cpu0.worker) / (seconds * 10) : NaN };
  lag.disable();
  for (const leg of legs) {
    agents.close(leg.id);
    leg.sfu.socket.close();
  }
  return { response, cpu, lag: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 }, seconds };
}

const BARGE_INS = 5;

/**
 * One local leg, asked for its long answer BARGE_INS times and interrupted 1.5 s into it: the caller's first speech frame →
 * the agent's last packet before its voice stops (the first gap of more than 100 ms).
 */
async function bargeInLatency(agents: AgentAudio): Promise<number[]> {
  const [longQuestion, interruption] = await Promise.all([opusFrames('tell me about astral'), opusFrames('how much does it cost')]);
  const agent: AgentSpec = { key: 'akylai', name: 'Akylai', language: 'en', provider: 'local', url: null, greeting: null, prompt: null, voice: null, llmModel: null };
  const sfu = await sfuSocket();
  const { port } = await agents.open('bench-barge-in');
  agents.start('bench-barge-in', { sfuPort: sfu.port, codec: 'opus', payloadType: 100, ssrc: 77, agent, vendors: LOCAL_VENDORS, stream });
  agents.answered('bench-barge-in');
  await sleep(4000); // the greeting
  let seq = 0;
  const speak = async (frames: Buffer[]) => {
    const t0 = performance.now();
    for (const [i, frame] of frames.entries()) {
      sfu.socket.send(rtp(100, seq, seq * 960, 4242, frame), port, '127.0.0.1');
      seq++;
      await sleep(Math.max(0, t0 + (i + 1) * 20 - performance.now()));
    }
  };
  const latencies: number[] = [];
  try {
    for (let n = 0; n < BARGE_INS; n++) {
      await speak(longQuestion);
      const asked = performance.now();
      const playing = await waitFor(() => sfu.arrivals.find((t) => t > asked), 8000);
      if (playing === undefined) continue;
      await sleep(Math.max(0, playing + 1500 - performance.now()));
      const interruptedAt = performance.now();
      await speak(interruption);
      const after = sfu.arrivals.filter((t) => t >= interruptedAt);
      const gap = after.findIndex((t, i) => i > 0 && t - after[i - 1]! > 100);
      const last = gap > 0 ? after[gap - 1]! : after.at(-1);
      if (last !== undefined) latencies.push(last - interruptedAt);
      await sleep(8000); // the answer to the interruption plays out
    }
  } finally {
    agents.close('bench-barge-in');
    sfu.socket.close();
  }
  return latencies;
}

async function waitFor<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
  for (const end = performance.now() + ms; performance.now() < end; await sleep(2)) {
    const got = probe();
    if (got !== undefined) return got;
  }
  return undefined;
}

export async function benchAgents(print: (line: string) => void): Promise<void> {
  const agents = AgentAudio.start();
  const keepAlive = setInterval(() => undefined, 1000); // the worker is unref'd: nothing else holds the loop while it starts
  const threadId = await new Promise<number | null>((resolve) => agents.once('ready', resolve));
  try {
    print('AI voice agents (agent audio worker thread; loopback UDP stands in for the PlainTransports, a ws server for the bot):');
    const bridge = await bridgeLatency(agents);
    const load = await localLoad(agents, threadId);
    const bargeIn = await bargeInLatency(agents);
    const instant = await vendorLatency(agents, INSTANT);
    const typical = await vendorLatency(agents, TYPICAL);
    const handshake = { connectMs: TYPICAL.elevenlabs.connectMs, firstByteMs: TYPICAL.elevenlabs.firstByteMs, aheadMs: TYPICAL.openai.firstTokenMs! };
    const perSentence = await ttsFirstAudio({ ...handshake, ahead: false });
    const ahead = await ttsFirstAudio({ ...handshake, ahead: true });
    print('Results');
    print('  ' + latencyRow('bridge: caller RTP in → bot media message', bridge.toBot, 'target p95 <= 20 ms'));
    print('  ' + latencyRow('bridge: bot media message → RTP out', bridge.fromBot, 'target p95 <= 20 ms (20 ms playout clock)'));
    print('  ' + latencyRow(`local agent: end of speech → first audio (${LEGS} legs)`, load.response, 'includes 700 ms end-of-turn silence'));
    print('  ' + latencyRow('local agent: barge-in, caller speaks → agent audio stops', bargeIn, 'target <= 200 ms'));
    for (const line of vendorRows(instant, typical)) print('  ' + line);
    print('  ' + latencyRow('ElevenLabs sentence → first audio, connecting per sentence', perSentence, `${handshake.connectMs} ms handshake + ${handshake.firstByteMs} ms first byte`));
    print('  ' + latencyRow('ElevenLabs sentence → first audio, socket connected ahead', ahead, `prewarm at the reply's start, ${handshake.aheadMs} ms before`));
    print('  ' + row(`CPU, ${LEGS} local legs: agent worker thread`, `${pct(load.cpu.worker)} (${pct(load.cpu.worker / LEGS)} per leg)`));
    print('  ' + row(`CPU, ${LEGS} local legs: whole node process`, `${pct(load.cpu.node)} (${pct(load.cpu.node / LEGS)} per leg; also this harness; espeak-ng/pocketsphinx children not counted)`));
    print('  ' + row('main event-loop lag (10 ms resolution)', `p50 ${load.lag.p50.toFixed(1)} ms, p99 ${load.lag.p99.toFixed(1)} ms, max ${load.lag.max.toFixed(1)} ms over ${load.seconds.toFixed(0)} s`));
    print(`  ${LEGS} legs, Opus; each asked "what are your opening hours" ${QUESTIONS} times (espeak-ng speech, real-time RTP); ${BRIDGE_FRAMES} frames per bridge direction.`);
  } finally {
    clearInterval(keepAlive);
    await agents.terminate();
  }
}

/** Voice-to-voice latency through Deepgram → OpenAI → ElevenLabs (fakes), instant and with typical vendor latencies. */
function vendorRows(instant: VendorLatencyResult, typical: VendorLatencyResult): string[] {
  const p50 = (samples: number[]) => `${percentile(samples, 50).toFixed(1)} ms`;
  const parts = (r: VendorLatencyResult) => `final → LLM request ${p50(r.toLlm)}, → first sentence at TTS ${p50(r.llmToTts)}, TTS first byte → packet ${p50(r.ttsToPacket)} (p50s)`;
  return [
    latencyRow('vendors, instant fakes: last voiced frame → audio', instant.fromVoice, 'target p50 <= 150 ms, p95 <= 250 ms'),
    latencyRow('vendors, instant fakes: STT speech_final → audio', instant.fromFinal, "the platform's own part"),
    row('  where it goes (instant)', parts(instant)),
    latencyRow('vendors, typical latencies: last voiced → audio', typical.fromVoice, 'Deepgram endpointing 300 ms, OpenAI 400 ms, ElevenLabs 100 ms handshake + 150 ms'),
    latencyRow('vendors, typical latencies: speech_final → audio', typical.fromFinal),
    row('  where it goes (typical)', parts(typical)),
    row('  (vendor rows)', "1 leg, Opus; a 1.2 s voiced vowel; end of speech = the caller's last voiced frame sent, or the Deepgram"),
    row('', "fake's speech_final (its endpointing: 20 ms instant, the adapter's 300 ms typical); audio = the first RTP packet"),
  ];
}

/** The `npm run bench` section: the worker figures above, then agent calls through the whole server (SIPp as the callers). */
export async function runAgentSection(out: (line?: string) => void, keep: (c: { close(): Promise<void> }) => void): Promise<void> {
  await benchAgents(out);
  out();
  out(`  Through the server: SIPp → trunk number → the built-in agent (${process.env.BENCH_AGENT_LOAD ?? '10'} concurrent calls, BENCH_AGENT_LOAD):`);
  const figures = await agentRows(keep);
  out('Results');
  for (const line of rows('  SIPp (uac-call-pcap.xml, -l N) → number → akylai: g711a speech in, the agent listening and answering in G.711', figures, false)) out(line);
  out('      server: child process (ASTRAL_WORKERS=2, recording on); agent = the agent audio worker thread; its espeak-ng and');
  out('      pocketsphinx children are not counted. Lag: GET /healthz round trip every 20 ms (idle = the floor).');
}
