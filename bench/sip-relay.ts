// In-process relay harness: MediaService + mediasoup workers in this process, N SIP legs each fed by a server-side prompt producer
// (G.711 → no transcoding, or Opus → the relay worker transcodes), a child-process carrier on the far side; CPU per thread.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { MediaService } from '../packages/server/src/media/service.js';
import { WorkerPool } from '../packages/server/src/media/worker-pool.js';
import type { Player } from '../packages/server/src/media/player.js';
import { encodeWavToG711Frames, encodeWavToOpusFrames } from '../packages/server/src/recording/encode.js';
import { toneFile } from '../test/helpers/tone.js';
import { children, cpuWindow, rssBytes, threads } from './proc-stats.js';
import { startCarrier, type Carrier } from './sip-carrier.js';

export interface LoadFigures {
  calls: number;
  /**
   * CPU % of one core over the window: mediasoup workers, Node main thread, relay worker thread(s), the agent audio worker
   * thread (agent calls), the whole Node process.
   */
  cpu: { mediasoup: number; main: number; relay: number; agent?: number; node: number };
  rss: { node: number; mediasoup: number };
  /** Event-loop lag of the main thread (ms). */
  lag: { p50: number; p99: number; max: number };
  lagHow: string;
  /** Per leg and second, what reached the carrier (≈ 50 at 20 ms packets). */
  toCarrierPps: number;
  transcodedPps: number;
  seconds: number;
  problems: string[];
}

const silentLog = new Proxy({}, { get: (_, k) => (k === 'child' ? () => silentLog : () => undefined) }) as unknown as FastifyBaseLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LAG_RESOLUTION_MS = 10;

export interface RelayHarness {
  /** One window with `calls` legs fed by `codec` prompts (`calls` 0 = idle). */
  measure(calls: number, codec: 'PCMA' | 'opus', windowMs: number): Promise<LoadFigures>;
  close(): Promise<void>;
}

export async function startRelayHarness(): Promise<RelayHarness> {
  const rtcMinPort = 11000 + Math.floor(Math.random() * 10) * 1000; // below the kernel's ephemeral ports
  const pool = await WorkerPool.start({ workers: 2, rtcMinPort, rtcMaxPort: rtcMinPort + 999, listenIp: '127.0.0.1', announcedIp: '127.0.0.1' }, silentLog);
  const media = new MediaService(pool, { listenIp: '127.0.0.1', announcedIp: '127.0.0.1' }, [
    { id: 'default', name: 'Default', emoji: '', workers: [0, 1], endpoint: null },
  ]);
  const carrier: Carrier = startCarrier();
  const wav = readFileSync(toneFile(join(tmpdir(), 'astral-fixtures'), 600, 10));
  const frames = { PCMA: encodeWavToG711Frames(wav, 'PCMA'), opus: encodeWavToOpusFrames(wav) };
  const before = new Set(threads(process.pid));
  let relayTids: number[] = [];
  let legId = 0;

  async function measure(calls: number, codec: 'PCMA' | 'opus', windowMs: number): Promise<LoadFigures> {
    const problems: string[] = [];
    const legs: { sessionId: string; player: Player }[] = [];
    try {
      for (let i = 0; i < calls; i++) {
        const sessionId = `bench-leg-${++legId}`;
        const callId = `bench-call-${legId}`;
        const { port } = await media.openSipLeg(sessionId, callId, 'default', 'PCMA');
        const carrierPort = await carrier.open();
        media.setCarrier(sessionId, { ip: '127.0.0.1', port: carrierPort, codec: 'PCMA', payloadType: 8, telephoneEventPt: 101 });
        carrier.send(i, port);
        // A prompt per call, as the IVR plays one per call: server-side producer → the SIP leg's consumer.
        const player = await media.play('default', frames[codec], 0, codec);
        legs.push({ sessionId, player });
        const offer = await media.consume(sessionId, player.producerId, callId);
        await media.resumeConsumer(sessionId, offer.consumerId);
      }
      if (calls > 0 && relayTids.length === 0) relayTids = threads(process.pid).filter((t) => !before.has(t));
      await sleep(1000); // every leg flowing
      const statsBefore = await media.sipStats();
      const workers = children(process.pid, 'mediasoup-worker');
      const main: [number, number?][] = [[process.pid, process.pid]];
      const window = cpuWindow({
        groups: {
          mediasoup: workers.map((p) => [p]),
          main,
          relay: relayTids.map((t) => [process.pid, t]),
          node: [[process.pid]],
        },
      });
      const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      h.enable();
      await sleep(windowMs);
      h.disable();
      const w = window.end();
      const statsAfter = await media.sipStats();
      let toCarrier = 0;
      let transcoded = 0;
      for (const [id, s] of Object.entries(statsAfter)) {
        toCarrier += s.toCarrier - (statsBefore[id]?.toCarrier ?? 0);
        transcoded += s.transcoded - (statsBefore[id]?.transcoded ?? 0);
      }
      const perLeg = (n: number) => (calls ? n / calls / w.seconds : 0);
      const received = (await carrier.counts()).filter((n) => n === 0).length;
      if (received > 0) problems.push(`${received} carrier sockets received nothing`);
      // The histogram holds timer intervals; the lag is what exceeds the resolution.
      const lagOf = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
      return {
        calls,
        cpu: { mediasoup: w.percent.mediasoup!, main: w.percent.main!, relay: w.percent.relay!, node: w.percent.node! },
        rss: { node: rssBytes(process.pid), mediasoup: workers.reduce((s, p) => s + rssBytes(p), 0) },
        lag: { p50: lagOf(h.percentile(50)), p99: lagOf(h.percentile(99)), max: lagOf(h.max) },
        lagHow: 'in-process monitorEventLoopDelay (10 ms resolution, minus it)',
        toCarrierPps: perLeg(toCarrier),
        transcodedPps: perLeg(transcoded),
        seconds: w.seconds,
        problems,
      };
    } finally {
      for (const l of legs) {
        l.player.stop();
        media.closeSession(l.sessionId);
      }
      await carrier.reset();
      await sleep(300);
    }
  }

  return {
    measure,
    async close() {
      await carrier.close();
      await media.close();
      pool.close();
    },
  };
}
