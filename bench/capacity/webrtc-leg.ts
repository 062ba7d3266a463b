// One mediasoup WebRtcTransport's far end in werift (real ICE, DTLS, SRTP): SDP built from the server's transport
// parameters the way mediasoup-client does, one Opus m-line sending pre-encoded frames or receiving one consumer.
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift';

/** mediasoup's transport parameters, as the signalling hands them over. */
export interface ServerTransport {
  id: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { foundation: string; priority: number; address?: string; ip?: string; protocol: string; port: number; type: string }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
}

/** What mediasoup's `connect()` wants of our side: we are always the DTLS client. */
export interface LocalDtls {
  role: 'client';
  fingerprints: { algorithm: string; value: string }[];
}

export const OPUS_CLOCK = 48_000;

const sdpLine = (sdp: string, key: string): string => {
  const line = sdp.split(/\r?\n/).find((l) => l.startsWith(`a=${key}:`));
  if (!line) throw new Error(`local SDP has no a=${key}`);
  return line.slice(key.length + 3).trim();
};

/** The server's side as an SDP answer to our one-audio-section offer. */
function remoteAnswer(server: ServerTransport, mid: string, payloadType: number, direction: 'recvonly' | 'sendonly', ssrc?: { ssrc: number; cname: string }): string {
  const fp = server.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? server.dtlsParameters.fingerprints[0]!;
  const candidates = server.iceCandidates
    .filter((c) => c.protocol === 'udp')
    .map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address ?? c.ip} ${c.port} typ host`);
  return [
    'v=0',
    'o=mediasoup 1 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    'a=msid-semantic: WMS *',
    `m=audio 9 UDP/TLS/RTP/SAVPF ${payloadType}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    `a=${direction}`,
    `a=ice-ufrag:${server.iceParameters.usernameFragment}`,
    `a=ice-pwd:${server.iceParameters.password}`,
    `a=fingerprint:${fp.algorithm} ${fp.value.toUpperCase()}`,
    'a=setup:passive',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=rtpmap:${payloadType} opus/48000/2`,
    `a=fmtp:${payloadType} minptime=10;useinbandfec=1`,
    ...(ssrc ? [`a=ssrc:${ssrc.ssrc} cname:${ssrc.cname}`] : []),
    ...candidates,
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

/**
 * A werift peer connection facing one server transport. `open()` yields our DTLS parameters (for the signalling's
 * connect) and `finish()` applies the server's side, after which ICE and DTLS run.
 */
export class WebRtcLeg {
  readonly pc: RTCPeerConnection;
  readonly transceiver: RTCRtpTransceiver;
  private mid = '0';
  private seq = Math.floor(Math.random() * 0xffff);
  private timestamp = Math.floor(Math.random() * 0xffffffff);

  constructor(
    private readonly server: ServerTransport,
    private readonly payloadType: number,
    direction: 'sendonly' | 'recvonly',
  ) {
    this.pc = new RTCPeerConnection({
      codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: OPUS_CLOCK, channels: 2, payloadType })], video: [] },
      headerExtensions: { audio: [], video: [] },
      iceUseIpv6: false,
    });
    this.transceiver = this.pc.addTransceiver('audio', { direction });
  }

  /** Creates our offer; returns the DTLS parameters the server's transport must be connected with. */
  async open(): Promise<LocalDtls> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription!.sdp;
    this.mid = sdpLine(sdp, 'mid');
    const [algorithm, value] = sdpLine(sdp, 'fingerprint').split(' ') as [string, string];
    return { role: 'client', fingerprints: [{ algorithm, value }] };
  }

  /** Applies the server's side (for a receiving leg: the consumer's SSRC); resolves once DTLS is up. */
  async finish(ssrc?: { ssrc: number; cname: string }): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      const sub = this.pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') {
          sub.unSubscribe();
          resolve();
        } else if (state === 'failed' || state === 'closed') {
          sub.unSubscribe();
          reject(new Error(`WebRTC leg ${state}`));
        }
      });
    });
    const direction = this.transceiver.direction === 'sendonly' ? 'recvonly' : 'sendonly';
    await this.pc.setRemoteDescription({ type: 'answer', sdp: remoteAnswer(this.server, this.mid, this.payloadType, direction, ssrc) });
    await connected;
  }

  /** The SSRC our sender uses (for the producer's rtpParameters). */
  get ssrc(): number {
    return this.transceiver.sender.ssrc;
  }

  /** Sends one 20 ms Opus frame (sequence number and timestamp advance here; werift adds SRTP). */
  sendFrame(payload: Buffer): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + 960) >>> 0;
    const header = new RtpHeader({ payloadType: this.payloadType, sequenceNumber: this.seq, timestamp: this.timestamp, ssrc: this.ssrc, marker: false });
    void this.transceiver.sender.sendRtp(new RtpPacket(header, payload));
  }

  close(): void {
    void this.pc.close();
  }
}
