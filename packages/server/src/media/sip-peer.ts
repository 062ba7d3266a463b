// SipPeer: one SIP leg's media on the SFU — a PlainTransport fed by the RTP relay: the carrier's audio as a producer, consumers toward it.
import type { types } from 'mediasoup';
import type { Peer } from './peer.js';
import type { G711Codec, RtpRelay } from './rtp-relay.js';

const SFU_PAYLOAD_TYPE: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };

export interface CarrierMedia {
  ip: string;
  port: number;
  codec: G711Codec;
  payloadType: number;
  telephoneEventPt: number | null;
}

export class SipPeer implements Peer {
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly rtpCapabilities: types.RtpCapabilities;

  private constructor(
    readonly sessionId: string,
    readonly region: string,
    readonly router: types.Router,
    private readonly transport: types.PlainTransport,
    private readonly relay: RtpRelay,
    /** The carrier-facing UDP port (what our SDP announces). */
    readonly port: number,
    readonly codec: G711Codec,
  ) {
    this.rtpCapabilities = router.rtpCapabilities;
  }

  /** Opens the relay's ports and the PlainTransport, and produces the carrier's audio (in `codec`) into the call. */
  static async create(opts: {
    sessionId: string;
    callId: string;
    region: string;
    router: types.Router;
    relay: RtpRelay;
    listenIp: string;
    portRange: { min: number; max: number };
    codec: G711Codec;
  }): Promise<SipPeer> {
    const { router, relay, sessionId, codec } = opts;
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, appData: { sessionId } });
    try {
      const ssrc = (Math.random() * 0xffffffff) >>> 0;
      const { port, internalPort } = await relay.open(sessionId, opts.listenIp, opts.portRange, ssrc);
      await transport.connect({ ip: '127.0.0.1', port: internalPort });
      relay.connectSfu(sessionId, transport.tuple.localPort, codec);
      const peer = new SipPeer(sessionId, opts.region, router, transport, relay, port, codec);
      const producer = await transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: `audio/${codec}`, payloadType: SFU_PAYLOAD_TYPE[codec], clockRate: 8000, channels: 1 }],
          encodings: [{ ssrc }],
        },
        appData: { callId: opts.callId },
      });
      peer.producers.set(producer.id, producer);
      producer.observer.once('close', () => peer.producers.delete(producer.id));
      return peer;
    } catch (err) {
      transport.close();
      relay.close(sessionId);
      throw err;
    }
  }

  setCarrier(media: CarrierMedia): void {
    this.relay.setCarrier(this.sessionId, media);
  }

  sendDtmf(digits: string): void {
    this.relay.sendDtmf(this.sessionId, digits);
  }

  async consume(producerId: string, callId: string): Promise<types.Consumer> {
    const consumer = await this.transport.consume({ producerId, rtpCapabilities: this.rtpCapabilities, paused: true, appData: { callId } });
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
    return consumer;
  }

  closeCallMedia(callId: string): void {
    for (const p of [...this.producers.values(), ...this.consumers.values()]) if (p.appData.callId === callId) p.close();
  }

  close(): void {
    this.transport.close();
    this.relay.close(this.sessionId);
  }
}
