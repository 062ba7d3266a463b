// Prompt player: the server's own audio into a call — pre-encoded Opus or G.711 frames sent as RTP into a PlainTransport producer.
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';
import { buildRtp } from './rtp.js';

const FRAME_MS = 20;

/** Opus for widgets; G.711 for calls with a SIP leg, so nobody transcodes a prompt per call. */
export type PromptCodec = 'opus' | 'PCMU' | 'PCMA';

const FORMATS: Record<PromptCodec, { mimeType: string; payloadType: number; clockRate: number; channels: number; samplesPerFrame: number }> = {
  opus: { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, samplesPerFrame: 960 },
  PCMU: { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, channels: 1, samplesPerFrame: 160 },
  PCMA: { mimeType: 'audio/PCMA', payloadType: 8, clockRate: 8000, channels: 1, samplesPerFrame: 160 },
};

export interface Player {
  producerId: string;
  stop(): void;
}

/** Plays `frames` (20 ms packets of `codec`) on a loop with `gapMs` of silence between rounds, until stopped. */
export async function startPlayer(
  router: types.Router,
  frames: Buffer[],
  gapMs: number,
  codec: PromptCodec = 'opus',
): Promise<{ player: Player; producer: types.Producer }> {
  const { mimeType, payloadType: PAYLOAD_TYPE, clockRate, channels, samplesPerFrame: SAMPLES_PER_FRAME } = FORMATS[codec];
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const ssrc = (Math.random() * 0xffffffff) >>> 0;
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType, payloadType: PAYLOAD_TYPE, clockRate, channels }],
      encodings: [{ ssrc }],
    },
  });
  const socket = createSocket('udp4');
  const port = transport.tuple.localPort;
  let seq = (Math.random() * 0xffff) >>> 0;
  let timestamp = (Math.random() * 0xffffffff) >>> 0;
  let index = 0;
  let silentFor = 0;
  const timer = setInterval(() => {
    timestamp = (timestamp + SAMPLES_PER_FRAME) >>> 0;
    if (silentFor > 0) {
      silentFor -= FRAME_MS;
      return;
    }
    const packet = buildRtp({ payloadType: PAYLOAD_TYPE, marker: index === 0, seq, timestamp, ssrc }, frames[index]!); // marker: a round starts
    seq = (seq + 1) & 0xffff;
    socket.send(packet, port, '127.0.0.1');
    index += 1;
    if (index === frames.length) {
      index = 0;
      silentFor = gapMs;
    }
  }, FRAME_MS);
  let stopped = false;
  return {
    producer,
    player: {
      producerId: producer.id,
      stop() {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        transport.close();
        socket.close();
      },
    },
  };
}
