// Producer taps: a PlainTransport consumer sending a producer's RTP to a local UDP socket, for server-side recording.
import { createSocket } from 'node:dgram';
import type { types } from 'mediasoup';

export interface RtpPacket {
  timestamp: number;
  payload: Buffer;
}

/** RTP header parsing (RFC 3550): CSRCs, header extension and padding skipped. Null for RTCP or junk. */
export function parseRtp(packet: Buffer, payloadType: number): RtpPacket | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2 || (packet[1]! & 0x7f) !== payloadType) return null;
  let start = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < start + 4) return null;
    start += 4 + 4 * packet.readUInt16BE(start + 2);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!;
  if (start >= end) return null;
  return { timestamp: packet.readUInt32BE(4), payload: packet.subarray(start, end) };
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
      const packet = parseRtp(msg, payloadType);
      if (packet) onPacket(packet);
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
