// Cluster: multi-node Astral over Redis (ASTRAL_REDIS_URL) — the node registry, presence, call ownership, routing of a
// widget's events to the node owning its call or its channel's call (whose media it then uses), and closing a lost node's
// calls (`node_lost`).
import type { Ack, ClientEventName, ClientPayload, ServerToClientEvents } from '@astral/protocol';
import { createAdapter } from '@socket.io/redis-adapter';
import type { FastifyBaseLogger } from 'fastify';
import type { CallControl } from '../calls/call-control.js';
import { ChannelCallElsewhere } from '../calls/channel-calls.js';
import type { SessionNotifier } from '../calls/notifier.js';
import type { Session, SessionRegistry } from '../calls/sessions.js';
import type { Gateway } from '../gateway/index.js';
import type { MediaService } from '../media/service.js';
import type { Store } from '../store/index.js';
import { AppError } from '../util/errors.js';
import { ClusterBus } from './bus.js';
import { ChannelOwnership } from './channel-ownership.js';
import { SharedLatencies } from './latencies.js';
import { Presence } from './presence.js';
import { NodeRegistry, type NodeInfo } from './registry.js';

export interface ClusterConfig {
  redisUrl: string;
  nodeId: string;
  /** This node's HTTP endpoint as peers and load balancers reach it. */
  url: string;
  heartbeatMs: number;
  /** A node whose entry is this old is lost. */
  nodeTtlMs: number;
}

/** What a node needs from the rest of the server, wired once everything exists. */
export interface ClusterParts {
  gateway: Gateway;
  calls: CallControl;
  sessions: SessionRegistry;
  media: MediaService;
  store: Store;
}

/** Events about a session's own media, without a call id: they go where its media lives. */
const MEDIA_EVENTS = new Set<ClientEventName>(['media:setup', 'media:capabilities', 'media:connect', 'media:restartIce', 'media:preflight', 'media:preflight-end']);

/** The broadcast of the node that won a lost node's clean-up: the others handle the loss too, seen by their beat or not. */
const NODE_LOST = 'node-lost';
const callKey = (callId: string) => `astral:call:${callId}`;
const nodeCallsKey = (nodeId: string) => `astral:calls:${nodeId}`;

interface ForwardedEvent { event: ClientEventName; sessionId: string; payload: unknown }
interface WidgetRequest { sessionId: string; event: 'media:consume' | 'call:incoming'; payload: unknown; timeoutMs: number }
interface WidgetNotice { sessionId: string; event: keyof ServerToClientEvents; payload: unknown }

export class Cluster {
  readonly bus: ClusterBus;
  readonly registry: NodeRegistry;
  /** Which node runs each channel's call: a join anywhere goes there. */
  readonly channelOwnership: ChannelOwnership;
  /** Users' measured region latencies, read by whichever node starts a channel's call. */
  readonly latencies: SharedLatencies;
  private presence: Presence | null = null;
  private parts: ClusterParts | null = null;

  constructor(
    private readonly config: ClusterConfig,
    private readonly log: FastifyBaseLogger,
    describe: () => Omit<NodeInfo, 'id' | 'url'>,
  ) {
    const onError = (err: unknown, what: string) => log.warn({ err }, `cluster: ${what} failed`);
    this.bus = new ClusterBus(config.redisUrl, config.nodeId, 5_000, onError);
    this.registry = new NodeRegistry(this.bus, {
      intervalMs: config.heartbeatMs,
      ttlMs: config.nodeTtlMs,
      describe: () => ({ url: config.url, ...describe() }),
      lost: (nodeId) => void this.nodeLost(nodeId).catch((err: unknown) => onError(err, `closing the calls of lost node ${nodeId}`)),
      refreshed: (live) => this.presence?.prune(live),
      rejoined: () => this.rejoin(),
      onError,
    });
    this.latencies = new SharedLatencies(this.bus.redis, onError);
    this.channelOwnership = new ChannelOwnership(this.bus.redis, config.nodeId, (nodeId) => this.registry.remote(nodeId), onError);
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  /** Sessions connected to this node (the registry also holds other nodes' mirrored ones); null before `start`. */
  get localSessions(): number | null {
    return this.presence?.localCount ?? null;
  }

  /** Connects to Redis; returns this node's 10-bit snowflake id, unique among the nodes that run at once. */
  async connect(): Promise<number> {
    await this.bus.start();
    return (await this.bus.redis.incr('astral:snowflake-node')) % 1024;
  }

  /** Joins the cluster: socket.io fans out through Redis, presence mirrors, this node registers and serves its RPCs. */
  async start(parts: ClusterParts): Promise<void> {
    this.parts = parts;
    parts.gateway.io.adapter(createAdapter(this.bus.duplicate(), this.bus.duplicate()));
    this.presence = new Presence(this.bus, parts.sessions, (sessionId) => parts.calls.sessionClosed(sessionId));
    this.bus.handle<ForwardedEvent, unknown>('event', ({ event, sessionId, payload }) => parts.gateway.handle(event, sessionId, payload));
    this.bus.handle<WidgetRequest, unknown>('widget:request', ({ sessionId, event, payload, timeoutMs }, from) => this.requestHere(from, sessionId, event, payload, timeoutMs));
    this.bus.handle<WidgetNotice, null>('widget:notify', ({ sessionId, event, payload }) => (parts.gateway.notify(sessionId, event, payload as never), null));
    this.bus.handle<{ sessionId: string }, null>('media:release', ({ sessionId }) => (parts.media.closeSession(sessionId), null));
    this.bus.handle<{ sessionIds: string[] }, boolean>('sessions:busy', ({ sessionIds }) => this.anyInAnotherCall(sessionIds));
    this.bus.listen<{ nodeId: string }>(NODE_LOST, ({ nodeId }) => this.registry.reportLost(nodeId));
    this.bus.onLeft((nodeId) => this.registry.drop(nodeId));
    await this.registry.start();
    await this.presence.start(this.registry.live.map((n) => n.id));
  }

  // --- the gateway's side -------------------------------------------------------------------------------------------

  sessionUp(session: Session): void {
    this.presence?.up(session);
  }

  sessionDown(sessionId: string): void {
    const media = this.presence?.mediaNodeOf(sessionId);
    if (media && media !== this.nodeId) void this.bus.call(media, 'media:release', { sessionId }).catch(() => undefined);
    this.presence?.down(sessionId);
  }

  /**
   * The node that handles a widget's event, null for this one: a call's events go to the node owning the call, media
   * events to where the session's media lives; a dial goes to the node picked for the new call (its media moves there),
   * a channel join to the node running the channel's call (as a dial: its media moves there) and a leave where it joined.
   */
  async route<E extends ClientEventName>(session: Session, event: E, payload: ClientPayload<E>): Promise<string | null> {
    const { calls, media } = this.parts!;
    if (event === 'call:dial') {
      const target = this.registry.pick(media.defaultRegion) ?? this.nodeId;
      this.placeLocal(session.id, target, null);
      return target === this.nodeId ? null : target;
    }
    if (event === 'voice:state') {
      const channelId = (payload as ClientPayload<'voice:state'>).channel_id;
      const mediaNode = this.presence!.mediaNodeOf(session.id);
      if (channelId === null) return mediaNode === this.nodeId ? null : mediaNode;
      const target = (await this.channelOwnership.remoteOwner(session.principal.instanceId, channelId)) ?? this.nodeId;
      if (target !== mediaNode) {
        if (await this.inAnotherCall(session.id, null)) throw new AppError('invalid_state', 'you are already in a call');
        this.placeLocal(session.id, target, null);
      }
      return target === this.nodeId ? null : target;
    }
    const callId = (payload as { callId?: unknown }).callId;
    if (typeof callId === 'string') {
      if (calls.get(callId)) return null;
      // A reconnected widget's resume goes there too (`forward` then moves its media to the owner).
      return this.registry.remote(await this.bus.redis.get(callKey(callId)));
    }
    const mediaNode = this.presence!.mediaNodeOf(session.id);
    return MEDIA_EVENTS.has(event) && mediaNode !== this.nodeId ? mediaNode : null;
  }

  /**
   * Runs a widget's event where `route` says (`here` when on this node). A channel join that lost the race to start the
   * channel's call to another node is routed once more: it then joins that node's call.
   */
  async run<E extends ClientEventName, T>(session: Session, event: E, payload: ClientPayload<E>, here: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const node = await this.route(session, event, payload);
      try {
        return node ? ((await this.forward(node, event, session, payload)) as T) : await here();
      } catch (err) {
        if (!(err instanceof ChannelCallElsewhere) || attempt > 0) throw err;
      }
    }
  }

  /**
   * Runs a widget's event on the node `route` chose (which answers as this node would). A widget that reconnected here
   * rebuilt its media here before resuming: once the owner took it back into the call, its media moves to the owner
   * (`media:relocated` reaches the widget before the resume's ack) and the owner bridges it when it is set up there.
   */
  async forward(nodeId: string, event: ClientEventName, session: Session, payload: unknown): Promise<unknown> {
    const result = await this.bus.call<unknown>(nodeId, 'event', { event, sessionId: session.id, payload } satisfies ForwardedEvent);
    if (event === 'call:resume') this.placeLocal(session.id, nodeId, (payload as ClientPayload<'call:resume'>).callId);
    const callId = event === 'call:dial' || event === 'voice:state' ? (result as { callId?: unknown } | null)?.callId : undefined;
    if (typeof callId === 'string') this.presence!.place(session.id, nodeId, callId);
    return result;
  }

  /**
   * The widget notifier: events and acknowledged requests for another node's session go to that node over the bus (those
   * of one turn in one message, each request answered with its own ack); dispatches fan out through the adapter. A rung
   * session's media moves to this node, which owns the call, before it is alerted.
   */
  notifier(widgets: Gateway): SessionNotifier {
    return {
      notify: (sessionId, event, payload) => {
        const home = this.presence!.homeOf(sessionId);
        if (home === this.nodeId) widgets.notify(sessionId, event, payload);
        else this.bus.send(home, 'widget:notify', { sessionId, event, payload } satisfies WidgetNotice);
      },
      dispatch: (ids, event, payload) => widgets.dispatch(ids, event, payload),
      request: (sessionId, event, payload, timeoutMs) => {
        const home = this.presence!.homeOf(sessionId);
        if (home === this.nodeId) return this.requestHere(this.nodeId, sessionId, event, payload, timeoutMs);
        const request: WidgetRequest = { sessionId, event, payload, timeoutMs };
        return this.bus.call(home, 'widget:request', request, timeoutMs + 1_000);
      },
    };
  }

  /**
   * On a session's own node: an acknowledged request of the node owning its call (a ring first brings its media there).
   * A session whose user is in another call is not rung (its media stays with that call): the ring hears `conflict`.
   */
  private async requestHere(owner: string, sessionId: string, event: WidgetRequest['event'], payload: unknown, timeoutMs: number): Promise<Ack<Record<string, never>>> {
    if (event === 'call:incoming') {
      const { callId } = payload as { callId: string };
      if (await this.inAnotherCall(sessionId, callId)) return { ok: false, error: { code: 'conflict', message: 'busy: in another call' } };
      this.placeLocal(sessionId, owner, callId);
    }
    return this.parts!.gateway.request(sessionId, event, payload as never, timeoutMs);
  }

  /**
   * Whether a user is in a call on any node, before one is created for them (click-to-call): each node holding one of
   * their sessions answers for it. A node that does not answer counts as not busy (a ring through it checks again).
   */
  async userBusy(userId: string): Promise<boolean> {
    const byNode = new Map<string, string[]>();
    for (const sessionId of this.parts!.sessions.ofUser(userId)) {
      const home = this.presence!.homeOf(sessionId);
      byNode.set(home, [...(byNode.get(home) ?? []), sessionId]);
    }
    const answers = [...byNode].map(([nodeId, sessionIds]) =>
      nodeId === this.nodeId ? this.anyInAnotherCall(sessionIds) : this.bus.call<boolean>(nodeId, 'sessions:busy', { sessionIds }).catch(() => false),
    );
    return (await Promise.all(answers)).some(Boolean);
  }

  /** On the sessions' own node: whether the user of any of them is in a live call. */
  private async anyInAnotherCall(sessionIds: string[]): Promise<boolean> {
    return (await Promise.all(sessionIds.map((id) => this.inAnotherCall(id, null)))).some(Boolean);
  }

  /** A local session's user is in a live call other than `callId` (null: any): one this node runs, or the one its media went to. */
  private async inAnotherCall(sessionId: string, callId: string | null): Promise<boolean> {
    const { calls, sessions } = this.parts!;
    const userId = sessions.get(sessionId)?.principal.party.userId;
    const here = userId === undefined ? undefined : calls.callOfUser(userId);
    if (here && here.id !== callId) return true;
    const placedFor = this.presence!.callOf(sessionId);
    return placedFor !== null && placedFor !== callId && (await this.bus.redis.exists(callKey(placedFor))) === 1;
  }

  /** On a session's own node: its media moves to `nodeId` (old transports close, its widget rebuilds them there). */
  private placeLocal(sessionId: string, nodeId: string, callId: string | null): void {
    const { gateway, media } = this.parts!;
    const current = this.presence!.mediaNodeOf(sessionId);
    this.presence!.place(sessionId, nodeId, callId);
    if (current === nodeId) return;
    if (current === this.nodeId) media.closeSession(sessionId);
    else void this.bus.call(current, 'media:release', { sessionId }).catch(() => undefined);
    gateway.notify(sessionId, 'media:relocated', { region: media.defaultRegion } as Parameters<ServerToClientEvents['media:relocated']>[0]);
  }

  // --- call ownership -----------------------------------------------------------------------------------------------

  readonly ownership = {
    claim: (callId: string): void => {
      this.bus.redis.multi().set(callKey(callId), this.nodeId).sadd(nodeCallsKey(this.nodeId), callId).exec().catch((err: unknown) => this.log.warn({ err }, 'cluster: could not claim a call'));
    },
    release: (callId: string): void => {
      this.bus.redis.multi().del(callKey(callId)).srem(nodeCallsKey(this.nodeId), callId).exec().catch((err: unknown) => this.log.warn({ err }, 'cluster: could not release a call'));
    },
  };

  // --- REST from any node -------------------------------------------------------------------------------------------

  /** Serves a REST operation to peers (`call` runs it on every other node). */
  serve<A, R>(method: string, fn: (args: A) => R | Promise<R>): void {
    this.bus.handle(method, fn);
  }

  /**
   * Runs `method` on every other live node and collects the answers; a node that fails or does not answer within
   * `timeoutMs` (a dead node not yet seen lost) is named in `unanswered` instead of failing the whole.
   */
  async onPeers<R>(method: string, args: unknown, timeoutMs?: number): Promise<{ answers: R[]; unanswered: string[] }> {
    const peers = this.registry.live.filter((n) => n.id !== this.nodeId);
    const results = await Promise.allSettled(peers.map((n) => this.bus.call<R>(n.id, method, args, timeoutMs)));
    const answers: R[] = [];
    const unanswered: string[] = [];
    results.forEach((r, i) => (r.status === 'fulfilled' ? answers.push(r.value) : unanswered.push(peers[i]!.id)));
    return { answers, unanswered };
  }

  /** Runs `method` on the other nodes until one has what it names (the others answer `not_found`). */
  async onOwner<R>(method: string, args: unknown): Promise<R> {
    for (const peer of this.registry.live.filter((n) => n.id !== this.nodeId)) {
      try {
        return await this.bus.call<R>(peer.id, method, args);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'not_found')) throw err;
      }
    }
    throw new AppError('not_found', 'no node has it');
  }

  // --- lost nodes ---------------------------------------------------------------------------------------------------

  /**
   * A peer died: calls here with a party on it end `node_lost`; what was still waiting for its answer (a ring's ack, a
   * forwarded event, a REST call) fails at once; local widgets whose media was there learn their call ended and get media
   * here again; its sessions leave; one survivor closes the lost node's own calls in the store, telling the others first
   * (its clean-up takes the node out of the node set, so their beats may never see it expire).
   */
  private async nodeLost(nodeId: string): Promise<void> {
    const { calls, gateway, store } = this.parts!;
    const presence = this.presence!;
    this.log.warn({ nodeId }, 'cluster: node lost (heartbeat expired); closing its calls');
    for (const id of calls.liveIds) {
      const call = calls.get(id);
      // A channel call goes on: the lost node's members leave it as dropped connections when presence prunes them below.
      if (call?.kind === 'direct' && call.involvedSessions.some((s) => presence.homeOf(s) === nodeId)) calls.end(call, 'FAILED', 'node_lost');
    }
    this.bus.failPendingTo(nodeId, 'was lost (its heartbeat expired)');
    for (const { sessionId, callId } of presence.placedOn(nodeId)) {
      if (callId) gateway.notify(sessionId, 'call:ended', { callId, disposition: 'FAILED', reason: 'node_lost', duration: 0, talkTime: 0 });
      this.placeLocal(sessionId, this.nodeId, null);
    }
    presence.prune(new Set(this.registry.live.map((n) => n.id).filter((id) => id !== nodeId)));
    const won = await this.bus.redis.set(`astral:lost:${nodeId}`, this.nodeId, 'PX', 60_000, 'NX');
    if (won !== 'OK') return;
    this.bus.broadcast(NODE_LOST, { nodeId });
    const orphans = await this.bus.redis.smembers(nodeCallsKey(nodeId));
    const closed = await store.calls.closeLost(orphans, new Date());
    await this.bus.redis.del(nodeCallsKey(nodeId), ...orphans.map(callKey));
    await this.channelOwnership.forgetNode(nodeId);
    await presence.forgetNode(nodeId);
    await this.registry.forget(nodeId);
    this.log.warn({ nodeId, closed }, 'cluster: closed the calls a lost node owned (node_lost)');
  }

  /** This node stalled past its TTL: peers may have dropped its sessions and calls; announce them again. */
  private rejoin(): void {
    const { gateway, calls } = this.parts!;
    this.log.warn('cluster: this node missed its heartbeat TTL; announcing its sessions and calls again');
    for (const socket of gateway.io.sockets.sockets.values()) if (socket.data.session) this.presence?.up(socket.data.session);
    for (const callId of calls.liveIds) {
      this.ownership.claim(callId);
      const call = calls.get(callId);
      if (call?.channelId) void this.channelOwnership.claim(call.instanceId, call.channelId).catch((err: unknown) => this.log.warn({ err }, 'cluster: could not claim a channel call again'));
    }
  }

  /** Leaves the cluster (after the drain ended this node's calls). */
  async close(): Promise<void> {
    await this.registry.leave().catch(() => undefined);
    await this.presence?.leave().catch(() => undefined);
    await this.bus.close();
  }
}
