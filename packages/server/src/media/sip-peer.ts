// SipPeer: one SIP leg's media on the SFU — a PlainTransport fed by the RTP relay: the carrier's audio as a producer, consumers toward it.
import type { types } from 'mediasoup';
import { PlainPeer } from './plain-peer.js';
import type { G711Codec, RtpRelay } from './rtp-relay.js';

const SFU_PAYLOAD_TYPE: Record<G711Codec, number> = { PCMU: 0, PCMA: 8 };

export interface CarrierMedia {
  ip: string;
  port: number;
  codec: G711Codec;
  payloadType: number;
  telephoneEventPt: number | null;
}

export class SipPeer extends PlainPeer {
  private constructor(
    sessionId: string,
    region: string,
    router: types.Router,
    transport: types.PlainTransport,
    private readonly relay: RtpRelay,
    /** The carrier-facing UDP port (what our SDP announces). */
    readonly port: number,
    readonly codec: G711Codec,
  ) {
    super(sessionId, region, router, transport);
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
    const transport = await PlainPeer.transportOn(router, sessionId);
    try {
      const ssrc = (Math.random() * 0xffffffff) >>> 0;
      const { port, internalPort } = await relay.open(sessionId, opts.listenIp, opts.portRange, ssrc);
      await transport.connect({ ip: '127.0.0.1', port: internalPort });
      relay.connectSfu(sessionId, transport.tuple.localPort, codec);
      const peer = new SipPeer(sessionId, opts.region, router, transport, relay, port, codec);
      await peer.produceAudio({ mimeType: `audio/${codec}`, payloadType: SFU_PAYLOAD_TYPE[codec], clockRate: 8000, channels: 1 }, ssrc, opts.callId);
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

  protected releaseWorkerSide(): void {
    this.relay.close(this.sessionId);
  }
}
