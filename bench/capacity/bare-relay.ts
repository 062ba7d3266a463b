// Bare mediasoup relay for the capacity baseline: the worker settings, router codecs and WebRtcServer Astral uses, one
// router, and socket.io signalling with Astral's media events plus bare:consume / bare:resume. No calls, users or store.
// RECORD=1 records every producer as a minimal mediasoup app would: a PlainTransport consumer per producer sending its RTP
// to the recorder worker thread (bare-recorder.ts), which writes it to a file per producer under a temporary directory.
// Run: PORT=… RTC_PORT=… [RECORD=1] node --import tsx bench/capacity/bare-relay.ts (prints "listening <port>").
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { Server } from 'socket.io';
import { mediaCodecs } from '../../packages/server/src/media/codecs.js';
import { startWorker } from '../../packages/server/src/util/worker.js';
import type { RecorderCommand, RecorderEvent } from './bare-recorder.js';

const port = Number(process.env.PORT ?? 0);
const rtcPort = Number(process.env.RTC_PORT ?? 44444);
const ip = process.env.LISTEN_IP ?? '127.0.0.1';
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const webRtcServer = await worker.createWebRtcServer({
  // As Astral's worker pool sets them: one socket carries every call.
  listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({ protocol, ip, port: rtcPort, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES })),
});
const router = await worker.createRouter({ mediaCodecs });
const producers = new Map<string, types.Producer>();

const recordingDir = process.env.RECORD === '1' ? mkdtempSync(join(tmpdir(), 'bare-recording-')) : null;
const recorder = recordingDir ? startWorker(new URL('./bare-recorder.ts', import.meta.url)) : null;
const recorderPorts = new Map<string, (port: number) => void>();
recorder?.on('message', (event: RecorderEvent) => {
  recorderPorts.get(event.id)?.(event.port);
  recorderPorts.delete(event.id);
});
const tellRecorder = (cmd: RecorderCommand) => recorder!.postMessage(cmd);

/** Sends the producer's RTP through a PlainTransport consumer to a recorder socket, until the producer closes. */
async function record(producer: types.Producer): Promise<void> {
  const plain = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  producer.observer.once('close', () => {
    plain.close();
    tellRecorder({ type: 'close', id: producer.id });
  });
  await plain.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  const port = await new Promise<number>((resolve) => {
    recorderPorts.set(producer.id, resolve);
    tellRecorder({ type: 'open', id: producer.id, path: join(recordingDir!, `${producer.id}.rtp`) });
  });
  await plain.connect({ ip: '127.0.0.1', port });
}

const describe = (t: types.WebRtcTransport) => ({ id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters });

type Ack = (res: { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } }) => void;

const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
io.on('connection', (socket) => {
  let send: types.WebRtcTransport | null = null;
  let recv: types.WebRtcTransport | null = null;
  let rtpCapabilities: types.RtpCapabilities | null = null;
  const consumers = new Map<string, types.Consumer>();
  const handle = (event: string, op: (payload: Record<string, unknown>) => Promise<unknown>) =>
    socket.on(event, (payload: Record<string, unknown>, ack: Ack) => {
      if (typeof ack !== 'function') return;
      op(payload ?? {}).then(
        (data) => ack({ ok: true, data: data ?? {} }),
        (err: Error) => ack({ ok: false, error: { code: 'bad_request', message: err.message } }),
      );
    });
  const transport = (id: unknown) => {
    const t = [send, recv].find((x) => x?.id === id);
    if (!t) throw new Error('unknown transport');
    return t;
  };
  handle('media:setup', async () => {
    const options = { webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true };
    [send, recv] = await Promise.all([router.createWebRtcTransport(options), router.createWebRtcTransport(options)]);
    return { routerRtpCapabilities: router.rtpCapabilities, region: 'bare', send: describe(send), recv: describe(recv), iceServers: [] };
  });
  handle('media:capabilities', async (p) => void (rtpCapabilities = p.rtpCapabilities as types.RtpCapabilities));
  handle('media:connect', async (p) => transport(p.transportId).connect({ dtlsParameters: p.dtlsParameters as types.DtlsParameters }));
  handle('media:produce', async (p) => {
    const producer = await transport(p.transportId).produce({ kind: 'audio', rtpParameters: p.rtpParameters as types.RtpParameters });
    producers.set(producer.id, producer);
    producer.observer.once('close', () => producers.delete(producer.id));
    if (recorder) record(producer).catch((err: Error) => console.error(`cannot record ${producer.id}: ${err.message}`));
    return { producerId: producer.id };
  });
  handle('bare:consume', async (p) => {
    const producerId = String(p.producerId);
    if (!recv || !rtpCapabilities || !producers.has(producerId)) throw new Error('cannot consume that');
    const consumer = await recv.consume({ producerId, rtpCapabilities, paused: true });
    consumers.set(consumer.id, consumer);
    return { callId: 'bare', consumerId: consumer.id, producerId, kind: 'audio', rtpParameters: consumer.rtpParameters };
  });
  handle('bare:resume', async (p) => {
    const consumer = consumers.get(String(p.consumerId));
    if (!consumer) throw new Error('unknown consumer');
    await consumer.resume();
  });
  socket.on('disconnect', () => {
    send?.close();
    recv?.close();
  });
});

http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${(http.address() as { port: number }).port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    worker.close();
    io.close();
    if (recordingDir) rmSync(recordingDir, { recursive: true, force: true });
    process.exit(0);
  });
}
