// Producer taps: a PlainTransport consumer sending a producer's RTP to a local UDP socket, for server-side recording.
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';
import { parseRtp } from './rtp.js';

export interface RtpPacket {
  timestamp: number;
  payload: Buffer;
}

export interface Tap {
  close(): void;
}

/** Starts receiving `producerId`'s packets from `router` on a loopback UDP socket. */
export async function tapProducer(router: types.Router, producerId: string, onPacket: (p: RtpPacket) => void): Promise<Tap> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  try {
    await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
    const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
    const payloadType = consumer.rtpParameters.codecs[0]!.payloadType;
    socket.on('message', (msg) => {
      const packet = parseRtp(msg);
      if (packet?.payloadType === payloadType) onPacket(packet);
    });
  } catch (err) {
    transport.close();
    socket.close();
    throw err;
  }
  return {
    close() {
      transport.close();
      socket.close();
    },
  };
}
