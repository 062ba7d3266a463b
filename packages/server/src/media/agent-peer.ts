// AgentPeer: an AI agent's media on the SFU — a PlainTransport to the agent audio worker: the agent's voice as a producer,
// the other parties' audio consumed toward the worker (which decodes, listens and speaks off the main loop).
import type { types } from 'mediasoup';
import type { AgentCodec } from '../audio/agent-audio.js';
import { PlainPeer } from './plain-peer.js';

/** The codecs an agent speaks into a call: Opus for widget calls, the carrier's G.711 when a trunk leg is in it. */
export type { AgentCodec };

const FORMATS: Record<AgentCodec, types.RtpCodecParameters> = {
  opus: { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 },
  PCMU: { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, channels: 1 },
  PCMA: { mimeType: 'audio/PCMA', payloadType: 8, clockRate: 8000, channels: 1 },
};

/** What the peer needs of the agent audio worker: a loopback port per agent leg, released on close. */
export interface AgentAudioPorts {
  open(id: string): Promise<{ port: number }>;
  close(id: string): void;
}

/** Where the agent's RTP goes and how it is stamped: the worker sends to `sfuPort` with this payload type and ssrc. */
export interface AgentMediaLink {
  sfuPort: number;
  codec: AgentCodec;
  payloadType: number;
  ssrc: number;
}

export class AgentPeer extends PlainPeer {
  private constructor(
    sessionId: string,
    region: string,
    router: types.Router,
    transport: types.PlainTransport,
    private readonly audio: AgentAudioPorts,
    readonly link: AgentMediaLink,
  ) {
    super(sessionId, region, router, transport);
  }

  static async create(opts: { sessionId: string; callId: string; region: string; router: types.Router; audio: AgentAudioPorts; codec: AgentCodec }): Promise<AgentPeer> {
    const { router, audio, sessionId, codec } = opts;
    const transport = await PlainPeer.transportOn(router, sessionId);
    try {
      const { port } = await audio.open(sessionId);
      await transport.connect({ ip: '127.0.0.1', port });
      const ssrc = (Math.random() * 0xffffffff) >>> 0;
      const format = FORMATS[codec];
      const peer = new AgentPeer(sessionId, opts.region, router, transport, audio, { sfuPort: transport.tuple.localPort, codec, payloadType: format.payloadType, ssrc });
      await peer.produceAudio(format, ssrc, opts.callId);
      return peer;
    } catch (err) {
      transport.close();
      audio.close(sessionId);
      throw err;
    }
  }

  protected releaseWorkerSide(): void {
    this.audio.close(this.sessionId);
  }
}
