// MediaSession: the widget's mediasoup-client side — device, the two long-lived transports (with ICE recovery), mic
// producer, consumers, stats, and the preflight loopback.
import type { CallCodec, ClientResults, ConsumeOffer, MediaSetup } from '@astral/protocol';
import type { types } from 'mediasoup-client';
import { statsFrom } from './call-stats.js';
import { IceRecovery } from './ice-recovery.js';
import type { MicLine } from './devices.js';
import { loadMediasoup } from './mediasoup-loader.js';
import type { Device } from './mediasoup.js';
import type { CallStats } from './types.js';
import { request, type GatewaySocket } from './signaling.js';

export class MediaSession implements MicLine {
  /** Loaded with mediasoup-client (a lazy chunk) by the first setup. */
  private device: Device | null = null;
  private send: types.Transport | null = null;
  private recv: types.Transport | null = null;
  private producer: types.Producer | null = null;
  /** The codec of the current call's microphone (null: Opus). */
  private codec: CallCodec | null = null;
  private readonly consumers = new Map<string, types.Consumer>();
  /** One per transport: restarts ICE when its media path fails with the socket up. */
  private recoveries: IceRecovery[] = [];
  /** Whether a call uses the transports (ICE restarts run only then). */
  private inCall = false;
  /** The server's answer to the running preflight's produce: its consumer, to receive the microphone back. */
  private loopbackOffer: ClientResults['media:preflight'] | null = null;
  /** The media path state last reported to `onMediaPath`. */
  private pathUp = true;
  localStream: MediaStream | null = null;
  /** The RTC region the transports live in (from the server's setup answer). */
  region: string | null = null;
  remoteStream: MediaStream | null = null;
  /** Plays the far side; kept off-DOM so it works without a rendered UI. */
  readonly audio: HTMLAudioElement = new Audio();

  /** The latest build of the transports, settled (consume waits for it). */
  private built: Promise<void> = Promise.resolve();

  /** `onMediaPath(false)`: a transport's media path was lost and ICE restarts began; `(true)`: every transport is back (or replaced). */
  constructor(
    private readonly socket: GatewaySocket,
    /** The microphone constraints for the next call (the client's device choice and processing switches). */
    private readonly audioConstraints: () => MediaTrackConstraints,
    private readonly onMediaPath: (up: boolean) => void = () => undefined,
  ) {
    this.audio.autoplay = true;
  }

  /** Creates both transports once per connection, so a call only has to produce and consume. */
  async setup(): Promise<void> {
    this.close();
    await this.build();
  }

  /**
   * Rebuilds the transports where the server now places this session (a region move) while a call goes on:
   * the microphone stays open and is produced again; the far side's audio returns as new consumers.
   */
  async rebuild(callId: string | null, muted: boolean): Promise<void> {
    this.producer?.close();
    this.producer = null;
    for (const id of [...this.consumers.keys()]) this.removeConsumer(id);
    this.closeTransports();
    await this.build();
    const track = this.localStream?.getAudioTracks()[0];
    if (track && callId) await this.produce(track, callId, muted);
  }

  /** Produces the still-open microphone again (after a reconnect rebuilt the transports). */
  async produceMicAgain(callId: string, muted: boolean): Promise<void> {
    const track = this.localStream?.getAudioTracks()[0];
    if (track && track.readyState === 'live') await this.produce(track, callId, muted);
  }

  /** Makes the transports; a consume offer that arrives meanwhile (the server offers as soon as its side exists) waits for them. */
  private build(): Promise<void> {
    const building = this.createTransports();
    this.built = building.catch(() => undefined);
    return building;
  }

  private async createTransports(): Promise<void> {
    const [setup, DeviceClass]: [MediaSetup, typeof Device] = await Promise.all([request(this.socket, 'media:setup', {}), loadMediasoup()]);
    this.region = setup.region;
    const device = new DeviceClass();
    this.device = device;
    await device.load({ routerRtpCapabilities: setup.routerRtpCapabilities as types.RtpCapabilities });
    await request(this.socket, 'media:capabilities', { rtpCapabilities: device.rtpCapabilities as never });
    const iceServers = setup.iceServers as RTCIceServer[];
    const create = (dir: 'send' | 'recv') => {
      const options = { ...(setup[dir] as types.TransportOptions), iceServers };
      const transport = dir === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
      transport.on('connect', ({ dtlsParameters }, done, fail) => {
        request(this.socket, 'media:connect', { transportId: transport.id, dtlsParameters: dtlsParameters as never }).then(() => done(), fail);
      });
      this.watch(transport);
      return transport;
    };
    this.send = create('send');
    this.recv = create('recv');
    this.send.on('produce', ({ rtpParameters, appData }, done, fail) => {
      if (appData.preflight) {
        request(this.socket, 'media:preflight', { transportId: this.send!.id, rtpParameters: rtpParameters as never }).then((offer) => {
          this.loopbackOffer = offer;
          done({ id: offer.producerId });
        }, fail);
        return;
      }
      request(this.socket, 'media:produce', {
        transportId: this.send!.id,
        callId: String(appData.callId),
        kind: 'audio',
        rtpParameters: rtpParameters as never,
      }).then(({ producerId }) => done({ id: producerId }), fail);
    });
  }

  /** Watches a transport for a lost media path (reported when the first transport is lost, and when all are back). */
  private watch(transport: types.Transport): void {
    const recovery = new IceRecovery(transport, {
      iceParameters: async (transportId) => (await request(this.socket, 'media:restartIce', { transportId })).iceParameters,
      lost: () => this.reportPath(),
      recovered: () => this.reportPath(),
    });
    recovery.setActive(this.inCall);
    this.recoveries.push(recovery);
  }

  private reportPath(): void {
    const up = this.recoveries.every((r) => !r.lost);
    if (up === this.pathUp) return;
    this.pathUp = up;
    this.onMediaPath(up);
  }

  /** A call starts or stops using the transports: ICE recovery runs only during calls. */
  private setInCall(inCall: boolean): void {
    this.inCall = inCall;
    for (const r of this.recoveries) r.setActive(inCall);
  }

  /** Opens the microphone and sends it into the call (in `codec`, else Opus); `muted` starts the producer paused. */
  async startMic(callId: string, muted: boolean, codec?: CallCodec): Promise<void> {
    this.codec = codec ?? null;
    if (!this.send) throw new Error('media is not set up');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints(), video: false });
    this.localStream = stream;
    this.setInCall(true);
    await this.produce(stream.getAudioTracks()[0]!, callId, muted);
  }

  private async produce(track: MediaStreamTrack, callId: string, muted: boolean): Promise<void> {
    const wanted = this.codec && `audio/${this.codec.toLowerCase()}`;
    const codec = wanted ? this.device?.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === wanted) : undefined;
    this.producer = await this.send!.produce({
      track,
      stopTracks: false,
      ...(codec ? { codec } : {}),
      codecOptions: { opusDtx: true, opusFec: true },
      appData: { callId },
    });
    if (muted) this.producer.pause();
  }

  micTrack(): MediaStreamTrack | null {
    return this.localStream?.getAudioTracks()[0] ?? null;
  }

  /** Sends `track` instead of the current microphone: the producer keeps its RTP stream (no renegotiation). */
  async replaceMic(track: MediaStreamTrack): Promise<void> {
    const old = this.micTrack();
    await this.producer?.replaceTrack({ track });
    this.localStream = new MediaStream([track]);
    old?.stop();
  }

  setMuted(muted: boolean): void {
    if (!this.producer) return;
    if (muted) this.producer.pause();
    else this.producer.resume();
    this.localStream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
  }

  async consume(offer: ConsumeOffer): Promise<void> {
    await this.built;
    if (!this.recv) throw new Error('media is not set up');
    const consumer = await this.recv.consume({
      id: offer.consumerId,
      producerId: offer.producerId,
      kind: offer.kind,
      rtpParameters: offer.rtpParameters as types.RtpParameters,
    });
    this.consumers.set(consumer.id, consumer);
    this.setInCall(true);
    this.remoteStream ??= new MediaStream();
    this.remoteStream.addTrack(consumer.track);
    this.audio.srcObject = this.remoteStream;
    this.audio.play().catch(() => undefined); // autoplay may wait for a user gesture; the track still flows
  }

  /** Drops a consumer whose producer left (the other party hung up or moved region). */
  removeConsumer(consumerId: string): void {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) return;
    this.consumers.delete(consumerId);
    this.remoteStream?.removeTrack(consumer.track);
    consumer.close();
  }

  /** Releases one call's media (mic, producer, consumers) and keeps the transports. */
  endCall(): void {
    this.setInCall(false);
    this.producer?.close();
    this.producer = null;
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.localStream = null;
    for (const c of this.consumers.values()) c.close();
    this.consumers.clear();
    this.remoteStream = null;
    this.audio.srcObject = null;
  }

  /**
   * Preflight: sends `track` and receives it straight back through the SFU (outside calls, nothing played out);
   * `stats()` reads both directions, `stop()` ends it here and on the server.
   */
  async loopback(track: MediaStreamTrack): Promise<{ stats(): Promise<CallStats>; stop(): void }> {
    if (!this.send || !this.recv) throw new Error('media is not set up');
    const producer = await this.send.produce({ track, stopTracks: false, codecOptions: { opusDtx: false, opusFec: true }, appData: { preflight: true } });
    const offer = this.loopbackOffer!;
    this.loopbackOffer = null;
    const consumer = await this.recv
      .consume({ id: offer.consumerId, producerId: offer.producerId, kind: 'audio', rtpParameters: offer.rtpParameters as types.RtpParameters })
      .catch((err: unknown) => {
        producer.close();
        throw err;
      });
    return {
      stats: async () => statsFrom(await Promise.all([producer.getStats(), consumer.getStats()])),
      stop: () => {
        consumer.close();
        producer.close();
        request(this.socket, 'media:preflight-end', {}).catch(() => undefined);
      },
    };
  }

  async getStats(): Promise<CallStats> {
    return statsFrom(await Promise.all([this.producer?.getStats(), ...[...this.consumers.values()].map((c) => c.getStats())]));
  }

  close(): void {
    this.endCall();
    this.closeTransports();
  }

  private closeTransports(): void {
    for (const r of this.recoveries.splice(0)) r.stop();
    this.reportPath();
    this.send?.close();
    this.recv?.close();
    this.send = this.recv = null;
  }
}
