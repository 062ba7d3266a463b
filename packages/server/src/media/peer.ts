// MediaPeer: one widget session's media on the SFU — a send and a receive WebRTC transport, its producers and consumers,
// and its preflight loopback.
import type { types } from 'mediasoup';
import type { TransportOptions } from '@astral/protocol';
import { AppError } from '../util/errors.js';
import { Loopback } from './loopback.js';

/** Where server-side RTP (SIP legs) listens and what it announces; WebRTC transports take their worker's WebRtcServer. */
export interface TransportPlacement {
  listenIp: string;
  announcedIp: string;
}

const toOptions = (t: types.WebRtcTransport): TransportOptions => ({
  id: t.id,
  iceParameters: t.iceParameters,
  iceCandidates: t.iceCandidates,
  dtlsParameters: t.dtlsParameters,
});

/** What MediaService needs of any party's media, whatever carries it (WebRTC for widgets, the RTP relay for SIP legs). */
export interface Peer {
  readonly sessionId: string;
  readonly region: string;
  readonly router: types.Router;
  readonly rtpCapabilities: types.RtpCapabilities | null;
  readonly producers: Map<string, types.Producer>;
  readonly consumers: Map<string, types.Consumer>;
  consume(producerId: string, callId: string): Promise<types.Consumer>;
  closeCallMedia(callId: string): void;
  close(): void;
}

export class MediaPeer implements Peer {
  rtpCapabilities: types.RtpCapabilities | null = null;
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  /** The preflight loopback running now, if any (never during a call). */
  private loopback: Loopback | null = null;

  private constructor(
    readonly sessionId: string,
    readonly region: string,
    readonly router: types.Router,
    readonly send: types.WebRtcTransport,
    readonly recv: types.WebRtcTransport,
  ) {}

  /** Both transports on the worker's WebRtcServer: its one UDP/TCP port, however many sessions. */
  static async create(sessionId: string, region: string, router: types.Router, webRtcServer: types.WebRtcServer): Promise<MediaPeer> {
    const options: types.WebRtcTransportOptions = {
      webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      appData: { sessionId },
    };
    const [send, recv] = await Promise.all([router.createWebRtcTransport(options), router.createWebRtcTransport(options)]);
    return new MediaPeer(sessionId, region, router, send, recv);
  }

  get transportOptions(): { send: TransportOptions; recv: TransportOptions } {
    return { send: toOptions(this.send), recv: toOptions(this.recv) };
  }

  transport(id: string): types.WebRtcTransport {
    if (id === this.send.id) return this.send;
    if (id === this.recv.id) return this.recv;
    throw new AppError('not_found', `transport ${id} does not belong to this session`);
  }

  /** New ICE credentials for one of this session's transports (the browser restarts ICE with them). */
  async restartIce(transportId: string): Promise<types.IceParameters> {
    return this.transport(transportId).restartIce();
  }

  async produce(transportId: string, rtpParameters: types.RtpParameters, callId: string): Promise<types.Producer> {
    if (transportId !== this.send.id) throw new AppError('bad_request', 'produce on the send transport');
    this.endLoopback(); // a call starts: its microphone replaces the preflight's
    const producer = await this.send.produce({ kind: 'audio', rtpParameters, appData: { callId } });
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
    return producer;
  }

  async consume(producerId: string, callId: string): Promise<types.Consumer> {
    if (!this.rtpCapabilities) throw new AppError('invalid_state', 'send media:capabilities before consuming');
    if (!this.router.canConsume({ producerId, rtpCapabilities: this.rtpCapabilities })) {
      throw new AppError('media_error', 'this browser cannot receive the offered codec');
    }
    const consumer = await this.recv.consume({ producerId, rtpCapabilities: this.rtpCapabilities, paused: true, appData: { callId } });
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
    return consumer;
  }

  /** Starts a preflight loopback of the microphone (outside calls only; a second one replaces the first). */
  async startLoopback(transportId: string, rtpParameters: types.RtpParameters): Promise<Loopback['offer']> {
    if (transportId !== this.send.id) throw new AppError('bad_request', 'a preflight produces on the send transport');
    if (this.producers.size > 0) throw new AppError('invalid_state', 'a call is using the microphone');
    this.endLoopback();
    const loopback = await Loopback.open(this.send, this.recv, this.router, rtpParameters, this.rtpCapabilities, () => {
      if (this.loopback === loopback) this.loopback = null;
    });
    this.loopback = loopback;
    return loopback.offer;
  }

  endLoopback(): void {
    this.loopback?.close();
  }

  /** Closes the producers and consumers that belong to one call, keeping the transports for the next. */
  closeCallMedia(callId: string): void {
    for (const p of [...this.producers.values(), ...this.consumers.values()]) {
      if (p.appData.callId === callId) p.close();
    }
  }

  close(): void {
    this.send.close();
    this.recv.close();
  }
}
