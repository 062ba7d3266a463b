// Prompt player: the server's own audio into a call — pre-encoded Opus frames sent as RTP into a PlainTransport producer.
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';

const PAYLOAD_TYPE = 100;
const FRAME_MS = 20;
const SAMPLES_PER_FRAME = 960; // 20 ms at 48 kHz

export interface Player {
  producerId: string;
  stop(): void;
}

/** Plays `frames` (20 ms Opus packets) on a loop with `gapMs` of silence between rounds, until stopped. */
export async function startPlayer(router: types.Router, frames: Buffer[], gapMs: number): Promise<{ player: Player; producer: types.Producer }> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const ssrc = (Math.random() * 0xffffffff) >>> 0;
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: PAYLOAD_TYPE, clockRate: 48000, channels: 2 }],
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
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = PAYLOAD_TYPE | (index === 0 ? 0x80 : 0); // marker on the first packet of a round
    header.writeUInt16BE(seq, 2);
    header.writeUInt32BE(timestamp, 4);
    header.writeUInt32BE(ssrc, 8);
    seq = (seq + 1) & 0xffff;
    socket.send(Buffer.concat([header, frames[index]!]), port, '127.0.0.1');
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
