// Producer taps, for server-side recording: a PlainTransport consumer sending a producer's RTP to a loopback UDP port that
// the recording ingest worker listens on (the packets never reach the main thread).
import type { types } from 'mediasoup';

export interface Tap {
  close(): void;
}

/**
 * Consumes `producerId` on `router` into a PlainTransport; `listen` is told the consumer's payload type and answers the
 * loopback port its RTP is sent to.
 */
export async function tapProducer(router: types.Router, producerId: string, listen: (payloadType: number) => Promise<number>): Promise<Tap> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  try {
    const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
    const port = await listen(consumer.rtpParameters.codecs[0]!.payloadType);
    await transport.connect({ ip: '127.0.0.1', port });
  } catch (err) {
    transport.close();
    throw err;
  }
  return { close: () => transport.close() };
}
