// PlainPeer: a server-side party's media on the SFU — one PlainTransport toward a worker thread, its producer and consumers.
// SIP legs (the RTP relay) and AI agents (the agent audio worker) are both this shape.
import type { types } from 'mediasoup';
import type { Peer } from './peer.js';

/** What the party produces, kept to produce it again on another router. */
interface AudioSource {
  codec: types.RtpCodecParameters;
  ssrc: number;
  callId: string;
}

export abstract class PlainPeer implements Peer {
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  rtpCapabilities: types.RtpCapabilities;
  private readonly sources: AudioSource[] = [];
  /** The worker thread's loopback port the transport sends to. */
  private readonly workerPort: number;

  protected constructor(
    readonly sessionId: string,
    readonly region: string,
    public router: types.Router,
    protected transport: types.PlainTransport,
  ) {
    this.rtpCapabilities = router.rtpCapabilities;
    this.workerPort = transport.tuple.remotePort!;
  }

  /**
   * A loopback PlainTransport of the router (RTP/RTCP muxed; we tell it where the worker listens), on `port` when given
   * (a rebuild keeps the port the worker thread already sends to).
   */
  static transportOn(router: types.Router, sessionId: string, port?: number): Promise<types.PlainTransport> {
    return router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1', port }, rtcpMux: true, comedia: false, appData: { sessionId } });
  }

  /** Produces the worker's audio (one ssrc, the given codec) into the call. */
  protected async produceAudio(codec: types.RtpCodecParameters, ssrc: number, callId: string): Promise<types.Producer> {
    const producer = await this.transport.produce({ kind: 'audio', rtpParameters: { codecs: [codec], encodings: [{ ssrc }] }, appData: { callId } });
    this.sources.push({ codec, ssrc, callId });
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
    return producer;
  }

  /**
   * Rebuilds the party's media on `router` (its worker died): a transport on the same loopback port, so the worker
   * thread's RTP keeps arriving, sending to the same worker port, producing the same audio (new producer ids).
   * Consumers are not rebuilt here: call control consumes the call's audio again.
   */
  async moveTo(router: types.Router): Promise<void> {
    const transport = await PlainPeer.transportOn(router, this.sessionId, this.transport.tuple.localPort);
    try {
      await transport.connect({ ip: '127.0.0.1', port: this.workerPort });
    } catch (err) {
      transport.close();
      throw err;
    }
    this.router = router;
    this.rtpCapabilities = router.rtpCapabilities;
    this.transport = transport;
    for (const { codec, ssrc, callId } of this.sources.splice(0)) await this.produceAudio(codec, ssrc, callId);
  }

  async consume(producerId: string, callId: string): Promise<types.Consumer> {
    const consumer = await this.transport.consume({ producerId, rtpCapabilities: this.rtpCapabilities, paused: true, appData: { callId } });
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
    return consumer;
  }

  closeCallMedia(callId: string): void {
    for (const p of [...this.producers.values(), ...this.consumers.values()]) if (p.appData.callId === callId) p.close();
    for (let i = this.sources.length - 1; i >= 0; i -= 1) if (this.sources[i]!.callId === callId) this.sources.splice(i, 1);
  }

  close(): void {
    this.transport.close();
    this.releaseWorkerSide();
  }

  /** Frees what the worker thread holds for this party. */
  protected abstract releaseWorkerSide(): void;
}
