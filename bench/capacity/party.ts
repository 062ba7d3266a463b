// One load-client party: a socket.io session with Astral's media events (media:setup, capabilities, connect, produce,
// and consume offers) and two werift legs, sending a tone and counting what it receives. Astral and the bare relay
// speak the same media events; only how a call is made differs (calls.ts).
import { io, type Socket } from 'socket.io-client';
import type { ConsumeOffer } from '@astral/protocol';
import { ReceiverStats } from './media.js';
import { WebRtcLeg, type ServerTransport } from './webrtc-leg.js';

type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

const REQUEST_TIMEOUT_MS = 20_000;

interface Setup {
  routerRtpCapabilities: { codecs: { mimeType: string; preferredPayloadType: number; clockRate: number; channels?: number }[] };
  send: ServerTransport;
  recv: ServerTransport;
}

export class Party {
  readonly socket: Socket;
  private setupData: Setup | null = null;
  private payloadType = 100;
  private sendLeg: WebRtcLeg | null = null;
  private recvLeg: WebRtcLeg | null = null;
  private sending = false;
  readonly stats = new ReceiverStats();
  /** Offers of the far side's audio (Astral pushes them; the bare relay's client asks for them). */
  onConsumeOffer: (offer: ConsumeOffer) => void = () => undefined;

  constructor(url: string, token: string | null) {
    this.socket = io(url, { ...(token ? { auth: { token } } : {}), transports: ['websocket'], reconnection: false, forceNew: true });
    this.socket.on('media:consume', (offer: ConsumeOffer, ack: (res: Ack<Record<string, never>>) => void) => {
      this.consume(offer).then(
        () => ack({ ok: true, data: {} }),
        (err: Error) => ack({ ok: false, error: { code: 'media_error', message: err.message } }),
      );
    });
  }

  async request<T>(event: string, payload: unknown): Promise<T> {
    const res = (await this.socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, payload)) as Ack<T>;
    if (!res.ok) throw new Error(`${event}: ${res.error.code}: ${res.error.message}`);
    return res.data;
  }

  /** Transports and capabilities, as the widget does once per connection. */
  async setup(): Promise<void> {
    const setup = await this.request<Setup>('media:setup', {});
    const opus = setup.routerRtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
    if (!opus) throw new Error('the router offers no Opus');
    this.setupData = setup;
    this.payloadType = opus.preferredPayloadType;
    const rtpCapabilities = {
      codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: this.payloadType, parameters: {}, rtcpFeedback: [] }],
      headerExtensions: [],
    };
    await this.request('media:capabilities', { rtpCapabilities });
  }

  /** Sends Opus into `callId`: connects the send transport and produces (frames flow once DTLS is up). */
  async produce(callId: string): Promise<string> {
    const setup = this.setupData!;
    const leg = new WebRtcLeg(setup.send, this.payloadType, 'sendonly');
    this.sendLeg = leg;
    const dtlsParameters = await leg.open();
    await this.request('media:connect', { transportId: setup.send.id, dtlsParameters });
    const connected = leg.finish();
    const rtpParameters = {
      codecs: [{ mimeType: 'audio/opus', payloadType: this.payloadType, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
      headerExtensions: [],
      encodings: [{ ssrc: leg.ssrc }],
      rtcp: { cname: `load-${leg.ssrc}`, reducedSize: true },
    };
    const { producerId } = await this.request<{ producerId: string }>('media:produce', { transportId: setup.send.id, callId, kind: 'audio', rtpParameters });
    await connected;
    this.sending = true;
    return producerId;
  }

  /** Receives an offered consumer: the receive transport connects on the first one (as mediasoup-client does). */
  async consume(offer: ConsumeOffer): Promise<void> {
    const setup = this.setupData!;
    if (this.recvLeg) throw new Error('this load party receives one stream');
    const params = offer.rtpParameters as { encodings: { ssrc: number }[]; rtcp: { cname: string } };
    const leg = new WebRtcLeg(setup.recv, this.payloadType, 'recvonly');
    this.recvLeg = leg;
    leg.transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.stats.onPacket(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload));
    });
    const dtlsParameters = await leg.open();
    await this.request('media:connect', { transportId: setup.recv.id, dtlsParameters });
    await leg.finish({ ssrc: params.encodings[0]!.ssrc, cname: params.rtcp.cname });
    this.onConsumeOffer(offer);
  }

  /** One 20 ms frame out, if the send leg is up (the process's single media clock calls this for every party). */
  tick(frame: Buffer): void {
    if (this.sending) this.sendLeg!.sendFrame(frame);
  }

  close(): void {
    this.sending = false;
    this.sendLeg?.close();
    this.recvLeg?.close();
    this.socket.disconnect();
  }
}
