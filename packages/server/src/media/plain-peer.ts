// PlainPeer: a server-side party's media on the SFU — one PlainTransport toward a worker thread, its producer and consumers.
// SIP legs (the RTP relay) and AI agents (the agent audio worker) are both this shape.
import type { types } from 'mediasoup';
import type { Peer } from './peer.js';

export abstract class PlainPeer implements Peer {
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly rtpCapabilities: types.RtpCapabilities;

  protected constructor(
    readonly sessionId: string,
    readonly region: string,
    readonly router: types.Router,
    protected readonly transport: types.PlainTransport,
  ) {
    this.rtpCapabilities = router.rtpCapabilities;
  }

  /** A loopback PlainTransport of the router (RTP/RTCP muxed; we tell it where the worker listens). */
  static transportOn(router: types.Router, sessionId: string): Promise<types.PlainTransport> {
    return router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, appData: { sessionId } });
  }

  /** Produces the worker's audio (one ssrc, the given codec) into the call. */
  protected async produceAudio(codec: types.RtpCodecParameters, ssrc: number, callId: string): Promise<types.Producer> {
    const producer = await this.transport.produce({ kind: 'audio', rtpParameters: { codecs: [codec], encodings: [{ ssrc }] }, appData: { callId } });
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
    return producer;
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
    this.releaseWorkerSide();
  }

  /** Frees what the worker thread holds for this party. */
  protected abstract releaseWorkerSide(): void;
}
