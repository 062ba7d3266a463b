// MediaService: the SFU facade call control uses — peers per session, producing, cross-router consuming.
import type { ClientPayload, ClientResults, ConsumeOffer, MediaSetup } from '@astral/protocol';
import type { types } from 'mediasoup';
import { AppError } from '../util/errors.js';
import { AgentPeer, type AgentAudioPorts, type AgentCodec, type AgentMediaLink } from './agent-peer.js';
import { MediaPeer, type Peer, type TransportPlacement } from './peer.js';
import { PlainPeer } from './plain-peer.js';
import { PromptPlayer, type Player, type PromptCodec } from './player.js';
import { RtpRelay, type G711Codec } from './rtp-relay.js';
import { SipPeer, type CarrierMedia } from './sip-peer.js';
import { tapProducer, type Tap } from './tap.js';
import type { WorkerPool } from './worker-pool.js';
import type { RegionConfig } from '../config.js';

/** mediasoup rejects malformed DTLS/RTP parameters with TypeError: that is the client's bad input, not our failure. */
async function clientInput<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof TypeError) throw new AppError('bad_request', `invalid media parameters: ${err.message}`);
    throw err;
  }
}

/**
 * Pausing or resuming media that closes meanwhile (its producer left, a transfer moved it) is moot, not a failure:
 * the worker answers such requests with "not found".
 */
async function settleUnlessClosed(media: { closed: boolean }, op: Promise<void>): Promise<void> {
  try {
    await op;
  } catch (err) {
    if (!media.closed && !/not found/.test((err as Error).message)) throw err;
  }
}

export class MediaService {
  private readonly peers = new Map<string, Peer>();
  /** Carries SIP legs' RTP off the main loop; started with the first SIP leg. */
  private relay: RtpRelay | null = null;
  /** Told when the RTP relay worker runs, with its OS thread id. */
  onRelayReady: (threadId: number | null) => void = () => undefined;
  /** Told when the RTP relay worker died: SIP legs on it lost their media (the next leg starts a new relay). */
  onRelayLost: (err: Error) => void = () => undefined;
  /** Told when a SIP leg's carrier sent an RFC 4733 digit. */
  onSipDtmf: (sessionId: string, digit: string) => void = () => undefined;
  /** Told when a widget restarted ICE on one of its transports (its media path failed with the socket up). */
  onIceRestart: () => void = () => undefined;
  /** Where each session's media should live; absent = the default region. */
  private readonly placements = new Map<string, string>();
  /** Told when a consumer closes because its producer went away (the far side left or moved). */
  onConsumerClosed: (sessionId: string, consumerId: string) => void = () => undefined;
  private readonly producers = new Map<string, { producer: types.Producer; router: types.Router }>();
  /** Producers piped (or being piped) to another router, keyed `producerId:routerId`: consumers there wait for it. */
  private readonly pipes = new Map<string, Promise<unknown>>();
  /** Prompts playing now, with their region. */
  private readonly players = new Map<PromptPlayer, string>();
  /** Told when a widget session's media was dropped to be built again in `region` (a region move, or its worker died). */
  onRelocated: (sessionId: string, region: string) => void = () => undefined;
  /** A worker died under a session's media: `relocated` (its widget rebuilds it), `rebuilt` (server-side: consume it again) or why not. */
  onWorkerLost: (sessionId: string, outcome: 'relocated' | 'rebuilt' | Error) => void = () => undefined;

  constructor(
    private readonly pool: WorkerPool,
    private readonly placement: TransportPlacement,
    readonly regions: RegionConfig[],
  ) {
    pool.onRouterDied = (router) => this.routerDied(router);
  }

  get defaultRegion(): string {
    return this.regions[0]!.id;
  }

  region(id: string): RegionConfig | undefined {
    return this.regions.find((r) => r.id === id);
  }

  /** The region the session's media is (or will be) in. */
  regionOf(sessionId: string): string {
    return this.placements.get(sessionId) ?? this.defaultRegion;
  }

  /**
   * Moves a session's media to another region: its transports (with their producers and consumers) close now, its
   * widget is told (`onRelocated`), and its next `setup` builds new ones there. Returns false when it is already there.
   */
  relocate(sessionId: string, region: string): boolean {
    if (!this.region(region)) throw new AppError('bad_request', `unknown region "${region}"`);
    if (this.regionOf(sessionId) === region) return false;
    this.placements.set(sessionId, region);
    this.dropPeer(sessionId);
    this.onRelocated(sessionId, region);
    return true;
  }

  /**
   * A worker died with this router and everything on it (its producers, consumers and pipes are closed, so consumers
   * elsewhere of its producers were told `producerclose`). Widgets rebuild their media like a region move; server-side
   * parties and prompts are rebuilt here on a live worker of their region.
   */
  private routerDied(router: types.Router): void {
    for (const key of this.pipes.keys()) if (key.endsWith(`:${router.id}`)) this.pipes.delete(key);
    for (const [player, region] of this.players) if (player.router === router) void this.movePlayer(player, region);
    for (const peer of [...this.peers.values()]) {
      if (peer.router !== router) continue;
      if (peer instanceof PlainPeer) {
        this.rebuildServerParty(peer).then(
          (rebuilt) => rebuilt && this.onWorkerLost(peer.sessionId, 'rebuilt'),
          (err: unknown) => this.onWorkerLost(peer.sessionId, err as Error),
        );
      } else {
        this.dropPeer(peer.sessionId);
        this.onRelocated(peer.sessionId, peer.region);
        this.onWorkerLost(peer.sessionId, 'relocated');
      }
    }
  }

  /** True when rebuilt; false when the party left meanwhile. */
  private async rebuildServerParty(peer: PlainPeer): Promise<boolean> {
    const workers = this.region(peer.region)?.workers;
    await this.pool.available(workers);
    const router = this.pool.acquireRouter(workers);
    try {
      await peer.moveTo(router);
    } catch (err) {
      this.pool.release(router);
      if (this.peers.get(peer.sessionId) === peer) this.peers.delete(peer.sessionId);
      peer.close();
      throw err;
    }
    if (this.peers.get(peer.sessionId) !== peer) {
      peer.close();
      this.pool.release(router);
      return false;
    }
    for (const producer of peer.producers.values()) this.register(producer, router);
    return true;
  }

  get healthy(): boolean {
    return this.pool.healthy;
  }

  /**
   * Creates the session's transports on the least-loaded router of its region. Called again (reconnect, region
   * move), it replaces them: the widget has dropped its side.
   */
  async setup(sessionId: string): Promise<Omit<MediaSetup, 'iceServers'>> {
    const region = this.regionOf(sessionId);
    this.dropPeer(sessionId);
    await this.pool.available(this.region(region)!.workers);
    const router = this.pool.acquireRouter(this.region(region)!.workers);
    let peer: MediaPeer;
    try {
      peer = await MediaPeer.create(sessionId, region, router, this.pool.webRtcServerOf(router));
    } catch (err) {
      this.pool.release(router);
      throw err;
    }
    this.peers.set(sessionId, peer);
    return { routerRtpCapabilities: peer.router.rtpCapabilities, region, ...peer.transportOptions };
  }

  /**
   * Media for a SIP leg of a call: the relay's carrier-facing port (for our SDP) and a producer of the carrier's audio
   * in `codec`. Replaces any earlier media of the session.
   */
  async openSipLeg(sessionId: string, callId: string, region: string, codec: G711Codec): Promise<{ ip: string; port: number }> {
    const relay = this.startRelay();
    const { listenIp } = this.placement;
    const portRange = this.pool.transportPorts;
    const peer = await this.openServerParty(sessionId, region, (router) => SipPeer.create({ sessionId, callId, region, router, relay, listenIp, portRange, codec }));
    return { ip: this.placement.announcedIp, port: peer.port };
  }

  /**
   * Media for an AI agent's leg of a call: a producer of the agent's voice in `codec`, and the link the agent audio worker
   * sends it on. Replaces any earlier media of the session.
   */
  async openAgentLeg(sessionId: string, callId: string, region: string, codec: AgentCodec, audio: AgentAudioPorts): Promise<AgentMediaLink> {
    const peer = await this.openServerParty(sessionId, region, (router) => AgentPeer.create({ sessionId, callId, region, router, audio, codec }));
    return peer.link;
  }

  /** A server-side party's peer on a router of its region, its producers consumable from anywhere; replaces earlier media. */
  private async openServerParty<T extends PlainPeer>(sessionId: string, region: string, create: (router: types.Router) => Promise<T>): Promise<T> {
    this.dropPeer(sessionId);
    await this.pool.available(this.region(region)?.workers);
    const router = this.pool.acquireRouter(this.region(region)?.workers);
    let peer: T;
    try {
      peer = await create(router);
    } catch (err) {
      this.pool.release(router);
      throw err;
    }
    this.peers.set(sessionId, peer);
    for (const producer of peer.producers.values()) this.register(producer, router);
    return peer;
  }

  /** Starts the RTP relay worker (if not running): at SIP start-up, so the first trunk call does not wait for it. */
  startRelay(): RtpRelay {
    if (this.relay) return this.relay;
    const relay = RtpRelay.start();
    relay.once('ready', (threadId: number | null) => this.onRelayReady(threadId));
    relay.on('dtmf', (id: string, digit: string) => this.onSipDtmf(id, digit));
    relay.once('exit', (err: Error) => {
      this.onRelayLost(err);
      if (this.relay === relay) this.relay = null;
    });
    this.relay = relay;
    return relay;
  }

  /** Where a SIP leg's carrier takes its audio, and in which payload types (from its SDP). */
  setCarrier(sessionId: string, media: CarrierMedia): void {
    this.sipPeer(sessionId).setCarrier(media);
  }

  /** Sends digits to a SIP leg's carrier as RFC 4733 events. */
  sendDtmf(sessionId: string, digits: string): void {
    this.sipPeer(sessionId).sendDtmf(digits);
  }

  /** Packet counters of every SIP leg (tests, benchmarks). */
  sipStats(): Promise<Record<string, import('./rtp-relay.js').RelayLegStats>> {
    return this.relay ? this.relay.stats() : Promise.resolve({});
  }

  setCapabilities(sessionId: string, rtpCapabilities: types.RtpCapabilities): void {
    this.webRtcPeer(sessionId).rtpCapabilities = rtpCapabilities;
  }

  async connect(sessionId: string, { transportId, dtlsParameters }: ClientPayload<'media:connect'>): Promise<void> {
    const transport = this.webRtcPeer(sessionId).transport(transportId);
    await clientInput(() => transport.connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters }));
  }

  /** Restarts ICE on one of the session's own transports (another session's id is not_found); returns its new parameters. */
  async restartIce(sessionId: string, transportId: string): Promise<types.IceParameters> {
    const iceParameters = await this.webRtcPeer(sessionId).restartIce(transportId);
    this.onIceRestart();
    return iceParameters;
  }

  async produce(sessionId: string, transportId: string, rtpParameters: unknown, callId: string): Promise<string> {
    const peer = this.webRtcPeer(sessionId);
    const producer = await clientInput(() => peer.produce(transportId, rtpParameters as types.RtpParameters, callId));
    this.register(producer, peer.router);
    return producer.id;
  }

  /** Preflight: the session's microphone looped back to it through the SFU, outside any call (see Loopback). */
  preflight(sessionId: string, { transportId, rtpParameters }: ClientPayload<'media:preflight'>): Promise<ClientResults['media:preflight']> {
    const peer = this.webRtcPeer(sessionId);
    return clientInput(() => peer.startLoopback(transportId, rtpParameters as unknown as types.RtpParameters));
  }

  endPreflight(sessionId: string): void {
    const peer = this.peers.get(sessionId);
    if (peer instanceof MediaPeer) peer.endLoopback();
  }

  /** Producer ids of a session for one call. */
  producersOf(sessionId: string, callId: string): string[] {
    const peer = this.peers.get(sessionId);
    if (!peer) return [];
    return [...peer.producers.values()].filter((p) => p.appData.callId === callId).map((p) => p.id);
  }

  /** Every live producer (widgets', SIP and agent legs', prompts'), with the router it lives on: metrics read their stats. */
  liveProducers(): Iterable<{ readonly producer: types.Producer; readonly router: types.Router }> {
    return this.producers.values();
  }

  /** Whether consumers can be made for the session now: its media is set up and its receive capabilities are known. */
  readyToConsume(sessionId: string): boolean {
    return !!this.peers.get(sessionId)?.rtpCapabilities;
  }

  /** Whether the session already consumes this producer. */
  consumes(sessionId: string, producerId: string): boolean {
    const peer = this.peers.get(sessionId);
    return !!peer && [...peer.consumers.values()].some((c) => c.producerId === producerId);
  }

  /** Creates a paused consumer of `producerId` for the session, piping across routers when needed. */
  async consume(sessionId: string, producerId: string, callId: string): Promise<ConsumeOffer> {
    const peer = this.peer(sessionId);
    const source = this.producers.get(producerId);
    if (!source) throw new AppError('not_found', `producer ${producerId} is gone`);
    if (source.router !== peer.router) {
      // Two consumers of one producer landing on a new router at once share one pipe and both wait for it.
      const pipeKey = `${producerId}:${peer.router.id}`;
      let pipe = this.pipes.get(pipeKey);
      if (!pipe) {
        pipe = source.router.pipeToRouter({ producerId, router: peer.router });
        this.pipes.set(pipeKey, pipe);
        pipe.catch(() => this.pipes.delete(pipeKey));
      }
      await pipe;
    }
    const consumer = await peer.consume(producerId, callId);
    consumer.on('producerclose', () => this.onConsumerClosed(sessionId, consumer.id));
    return { callId, consumerId: consumer.id, producerId, kind: 'audio', rtpParameters: consumer.rtpParameters };
  }

  /** A producer's codec, as recordings name it. */
  codecOf(producerId: string): 'opus' | G711Codec {
    const mime = this.producers.get(producerId)?.producer.rtpParameters.codecs[0]?.mimeType.toLowerCase();
    return mime === 'audio/pcmu' ? 'PCMU' : mime === 'audio/pcma' ? 'PCMA' : 'opus';
  }

  /** Sends a producer's RTP to a loopback port `listen` answers for its payload type (recording); undefined when the producer is gone. */
  async tap(producerId: string, listen: (payloadType: number) => Promise<number>): Promise<Tap | undefined> {
    const source = this.producers.get(producerId);
    return source && tapProducer(source.router, producerId, listen);
  }

  /** Starts playing 20 ms frames into a router of `region` (IVR prompts); the producer can be consumed like any other. */
  async play(region: string, frames: Buffer[], gapMs: number, codec: PromptCodec = 'opus'): Promise<Player> {
    const workers = this.region(region)?.workers;
    await this.pool.available(workers);
    const router = this.pool.peekRouter(workers);
    const player: PromptPlayer = await PromptPlayer.start(router, frames, gapMs, codec, () => this.players.delete(player));
    this.register(player.producer, router);
    this.players.set(player, region);
    return player;
  }

  /** A prompt whose router died carries on in a live router of its region; its owner is told the new producer. */
  private async movePlayer(player: PromptPlayer, region: string): Promise<void> {
    const previous = player.producerId;
    try {
      const workers = this.region(region)?.workers;
      await this.pool.available(workers);
      const router = this.pool.peekRouter(workers);
      if (!(await player.moveTo(router))) return;
      this.register(player.producer, router);
    } catch (err) {
      player.stop();
      return player.onMoved(previous, err as Error);
    }
    player.onMoved(previous, null);
  }

  /** Makes a producer consumable from any router (piped on demand) until it closes. */
  private register(producer: types.Producer, router: types.Router): void {
    this.producers.set(producer.id, { producer, router });
    producer.observer.once('close', () => {
      this.producers.delete(producer.id);
      for (const key of this.pipes.keys()) if (key.startsWith(`${producer.id}:`)) this.pipes.delete(key);
    });
  }

  async resumeConsumer(sessionId: string, consumerId: string): Promise<void> {
    const consumer = this.peers.get(sessionId)?.consumers.get(consumerId);
    if (consumer) await settleUnlessClosed(consumer, consumer.resume());
  }

  async setProducerPaused(sessionId: string, callId: string, paused: boolean): Promise<void> {
    const peer = this.peers.get(sessionId);
    for (const id of this.producersOf(sessionId, callId)) {
      const producer = peer?.producers.get(id);
      if (producer) await settleUnlessClosed(producer, paused ? producer.pause() : producer.resume());
    }
  }

  /** Deafen: pause (or resume) everything the session receives in a call. */
  async setConsumersPaused(sessionId: string, callId: string, paused: boolean): Promise<void> {
    const consumers = [...(this.peers.get(sessionId)?.consumers.values() ?? [])].filter((c) => c.appData.callId === callId);
    await Promise.all(consumers.map((c) => settleUnlessClosed(c, paused ? c.pause() : c.resume())));
  }

  endCall(sessionId: string, callId: string): void {
    this.peers.get(sessionId)?.closeCallMedia(callId);
  }

  closeSession(sessionId: string): void {
    this.placements.delete(sessionId);
    this.dropPeer(sessionId);
  }

  private dropPeer(sessionId: string): void {
    const peer = this.peers.get(sessionId);
    if (!peer) return;
    this.peers.delete(sessionId);
    peer.close();
    this.pool.release(peer.router);
  }

  private peer(sessionId: string): Peer {
    const peer = this.peers.get(sessionId);
    if (!peer) throw new AppError('invalid_state', 'media is not set up for this session (send media:setup first)');
    return peer;
  }

  private webRtcPeer(sessionId: string): MediaPeer {
    const peer = this.peer(sessionId);
    if (!(peer instanceof MediaPeer)) throw new AppError('invalid_state', 'this session has no WebRTC media');
    return peer;
  }

  private sipPeer(sessionId: string): SipPeer {
    const peer = this.peer(sessionId);
    if (!(peer instanceof SipPeer)) throw new AppError('invalid_state', 'this session is not a SIP leg');
    return peer;
  }

  async close(): Promise<void> {
    await this.relay?.terminate();
  }
}
