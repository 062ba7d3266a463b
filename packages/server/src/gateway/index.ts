// Gateway: socket.io signaling — origin and token auth, one session per socket (ended when its token expires unrefreshed),
// validated events routed to call control and media.
import type {
  Ack,
  ClientEventName,
  ClientPayload,
  ClientResults,
  ClientToServerEvents,
  GatewayDispatch,
  ServerToClientEvents,
} from '@astral/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { PrincipalResolver } from '../auth/principal.js';
import type { CallControl } from '../calls/call-control.js';
import type { ChannelCalls } from '../calls/channel-calls.js';
import type { SessionNotifier } from '../calls/notifier.js';
import type { Router } from '../calls/routing.js';
import type { Transfers } from '../calls/transfers.js';
import { partyOf, type Session, type SessionRegistry } from '../calls/sessions.js';
import type { MediaService } from '../media/service.js';
import { AppError, toErrorBody } from '../util/errors.js';
import { parsePayload } from './validate.js';

type AstralSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { session: Session }>;
export type AstralIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { session: Session }>;

export interface GatewayDeps {
  principals: PrincipalResolver;
  sessions: SessionRegistry;
  media: MediaService;
  log: FastifyBaseLogger;
  /** Whether a handshake's `Origin` may connect (none: not a browser). */
  originAllowed: (origin: string | undefined) => boolean;
  iceServers: { urls: string | string[] }[];
}

/** The call services socket events are routed to. */
export interface CallServices {
  calls: CallControl;
  channels: ChannelCalls;
  transfers: Transfers;
  router: Router;
}

type Handler<E extends ClientEventName> = (session: Session, payload: ClientPayload<E>) => Promise<ClientResults[E]> | ClientResults[E];

/** Several nodes: presence of this node's sessions, and the node each event is handled on (the one owning its call). */
export interface GatewayCluster {
  sessionUp(session: Session): void;
  sessionDown(sessionId: string): void;
  /** Runs the event on the node that handles it: `here` when that is this one. */
  run<E extends ClientEventName, T>(session: Session, event: E, payload: ClientPayload<E>, here: () => Promise<T>): Promise<T>;
}

/** Events a bot connection may send: bots watch calls through dispatch events; they carry no media yet. */
const BOT_EVENTS = new Set<ClientEventName>(['presence:update']);

/** A timer's longest delay; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const principalRoom = (id: string) => `p:${id}`;

export class Gateway implements SessionNotifier {
  readonly io: AstralIo;
  private calls: CallControl | null = null;
  /** Set when the server runs as one node of several. */
  cluster: GatewayCluster | null = null;
  /** The handlers of every event but session:refresh (which needs its socket): forwarded events run here too. */
  private readonly handlers = new Map<ClientEventName, (session: Session, payload: never) => unknown>();
  /** Per socket: the timer that ends it when its widget token expires. */
  private readonly expiryTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(http: HttpServer, private readonly deps: GatewayDeps) {
    this.io = new Server(http, {
      cors: { origin: (origin, done) => done(null, deps.originAllowed(origin)) },
      // Checked on every transport, the websocket upgrade included (CORS alone binds only polling).
      allowRequest: (req, done) => (deps.originAllowed(req.headers.origin) ? done(null, true) : done('origin not allowed', false)),
      serveClient: false,
      pingInterval: 10_000,
      pingTimeout: 8_000,
    });
    this.io.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown };
      deps.principals
        .fromToken(typeof auth.token === 'string' ? auth.token : undefined)
        .then((principal) => {
          socket.data.session = { id: socket.id, principal, dnd: false };
          next();
        })
        .catch((err: unknown) => {
          const body = toErrorBody(err);
          next(Object.assign(new Error(body.message), { data: body }));
        });
    });
  }

  /** Starts routing events (wired after construction: call control notifies through the gateway). */
  attach(services: CallServices): void {
    this.calls = services.calls;
    this.defineHandlers(services);
    this.io.on('connection', (socket: AstralSocket) => this.onConnection(socket, services.calls));
  }

  private define<E extends ClientEventName>(event: E, handler: Handler<E>): void {
    this.handlers.set(event, handler as unknown as (session: Session, payload: never) => unknown);
  }

  /** Runs an event another node forwarded for a session of it (that node validated and authorized it already). */
  async handle(event: ClientEventName, sessionId: string, payload: unknown): Promise<unknown> {
    const handler = this.handlers.get(event);
    const session = this.deps.sessions.get(sessionId);
    if (!handler || !session) throw new AppError('not_found', `no session ${sessionId} for ${event}`);
    return handler(session, parsePayload(event, payload) as never);
  }

  private onConnection(socket: AstralSocket, calls: CallControl): void {
    const { session } = socket.data;
    const { media, sessions } = this.deps;
    sessions.add(session);
    this.cluster?.sessionUp(session);
    void socket.join(principalRoom(session.principal.party.userId));
    this.armExpiry(socket);
    socket.on('disconnect', () => {
      clearTimeout(this.expiryTimers.get(socket.id));
      this.expiryTimers.delete(socket.id);
      sessions.remove(session.id);
      calls.sessionClosed(session.id);
      this.cluster?.sessionDown(session.id);
    });
    for (const [event, handler] of this.handlers) this.on(socket, event, handler as unknown as Handler<typeof event>);
    this.on(socket, 'session:refresh', async (s, p) => {
      const fresh = await this.deps.principals.fromToken(p.token);
      if (fresh.kind !== 'user' || fresh.instanceId !== s.principal.instanceId || fresh.party.userId !== s.principal.party.userId) {
        throw new AppError('forbidden', 'the new token is for another user');
      }
      s.principal = { ...s.principal, expiresAt: fresh.expiresAt! };
      this.armExpiry(socket);
      this.cluster?.sessionUp(s);
      return { expiresAt: fresh.expiresAt!.toISOString() };
    });
    const regions = media.regions.map(({ id, name, emoji, endpoint }) => ({ id, name, emoji, endpoint: endpoint ?? '' }));
    socket.emit('session:ready', { user: partyOf(session), regions });
  }

  private defineHandlers({ calls, channels, transfers, router }: CallServices): void {
    const { media } = this.deps;
    this.define('media:setup', async (s) => ({ ...(await media.setup(s.id)), iceServers: this.deps.iceServers }));
    this.define('media:capabilities', (s, p) => {
      media.setCapabilities(s.id, p.rtpCapabilities as never);
      calls.mediaReady(s.id);
      return {};
    });
    this.define('media:connect', async (s, p) => (await media.connect(s.id, p), {}));
    this.define('media:restartIce', async (s, p) => ({ iceParameters: await media.restartIce(s.id, p.transportId) }));
    this.define('media:preflight', (s, p) => media.preflight(s.id, p));
    this.define('media:preflight-end', (s) => (media.endPreflight(s.id), {}));
    this.define('media:produce', async (s, p) => ({ producerId: await calls.produce(s, p) }));
    this.define('voice:state', (s, p) => channels.voiceState(s, p));
    this.define('voice:latency', async (s, p) => (await channels.setLatency(s, p.rtts), {}));
    this.define('presence:update', (s, p) => {
      s.dnd = p.dnd;
      this.cluster?.sessionUp(s);
      return {};
    });
    this.define('call:dial', (s, p) => router.dial(s, p.destination));
    this.define('call:answer', (s, p) => (calls.answer(s, p.callId), {}));
    this.define('call:resume', (s, p) => (calls.resume(s, p.callId), {}));
    this.define('call:decline', (s, p) => (calls.decline(s, p.callId), {}));
    this.define('call:hangup', (s, p) => (calls.hangup(s, p.callId), {}));
    this.define('call:mute', async (s, p) => (await calls.mute(s, p.callId, p.muted), {}));
    this.define('call:hold', async (s, p) => (await calls.hold(s, p.callId, p.held), {}));
    this.define('call:transfer', async (s, p) => (await transfers.start(calls.callFor(s, p.callId), s.id, p.destination, p.type), {}));
    this.define('call:transfer-end', async (s, p) => {
      const call = calls.callFor(s, p.callId);
      await (p.action === 'complete' ? transfers.complete(call, s.id) : transfers.cancel(call, s.id));
      return {};
    });
    this.define('call:dtmf', (s, p) => (calls.dtmf(s, p.callId, p.digits), {}));
  }

  /** (Re)arms the timer that ends a socket when its principal's credential expires. */
  private armExpiry(socket: AstralSocket): void {
    clearTimeout(this.expiryTimers.get(socket.id));
    const expiresAt = socket.data.session.principal.expiresAt;
    if (!expiresAt) return;
    const timer = setTimeout(() => {
      if (Date.now() < expiresAt.getTime()) return this.armExpiry(socket);
      this.end(socket, 'token_expired');
    }, Math.min(MAX_TIMER_MS, Math.max(0, expiresAt.getTime() - Date.now())));
    this.expiryTimers.set(socket.id, timer);
  }

  /** Tells the widget why, then closes its socket (the disconnect handler cleans up the session). */
  private end(socket: AstralSocket, reason: 'token_expired' | 'revoked'): void {
    socket.emit('session:expired', { reason });
    socket.disconnect(true);
  }

  /** Closes every socket of a principal whose credential was revoked (a bot), on every node. */
  revoke(principalId: string): void {
    const room = principalRoom(principalId);
    (this.io.to(room) as unknown as { emit(e: string, p: unknown): void }).emit('session:expired', { reason: 'revoked' });
    this.io.in(room).disconnectSockets(true);
  }

  /** Registers a validated, acknowledged handler; a bad payload or a failure becomes an error ack. */
  private on<E extends ClientEventName>(socket: AstralSocket, event: E, handler: Handler<E>): void {
    const cluster = event === 'session:refresh' ? null : this.cluster;
    // socket.io hands the acknowledgement callback over as the last argument: a request is exactly (payload, ack);
    // any other shape (no payload, extra arguments) is answered bad_request rather than left unacknowledged.
    const listener = async (...args: unknown[]) => {
      const ack = args.at(-1);
      const reply = typeof ack === 'function' ? (ack as (res: Ack<ClientResults[E]>) => void) : () => undefined;
      const payload = args[0];
      try {
        if (typeof ack === 'function' && args.length !== 2) {
          throw new AppError('bad_request', `${event} takes one payload argument and an acknowledgement callback (got ${args.length - 1} arguments)`);
        }
        const { session } = socket.data;
        if (session.principal.kind === 'bot' && !BOT_EVENTS.has(event)) {
          throw new AppError('forbidden', `bots cannot send ${event}`);
        }
        const parsed = parsePayload(event, payload);
        const data = cluster ? await cluster.run(session, event, parsed, async () => handler(session, parsed)) : await handler(session, parsed);
        reply({ ok: true, data });
      } catch (err) {
        if (!(err instanceof AppError)) this.deps.log.error({ err, event }, 'socket event failed');
        reply({ ok: false, error: toErrorBody(err) });
      }
    };
    (socket as unknown as { on(e: string, l: (...a: unknown[]) => void): void }).on(event, listener);
  }

  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    // A socket of this node straight away; another node's through the adapter (several nodes: Redis).
    const target = this.io.sockets.sockets.get(sessionId) ?? this.io.to(sessionId);
    (target as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);
  }

  dispatch<E extends keyof GatewayDispatch>(principalIds: string[], event: E, payload: GatewayDispatch[E]): void {
    if (principalIds.length === 0) return;
    (this.io.to(principalIds.map(principalRoom)) as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);
  }

  async request<E extends 'media:consume' | 'call:incoming'>(
    sessionId: string,
    event: E,
    payload: Parameters<ServerToClientEvents[E]>[0],
    timeoutMs: number,
  ): Promise<Ack<Record<string, never>>> {
    const socket = this.io.sockets.sockets.get(sessionId);
    if (!socket) throw new AppError('not_found', `session ${sessionId} is gone`);
    const emitter = socket.timeout(timeoutMs) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<Record<string, never>>> };
    return emitter.emitWithAck(event, payload);
  }

  /** Tells every widget the server is shutting down (graceful drain): no new calls here, live ones end in `seconds`. */
  announceDraining(seconds: number): void {
    // This node's widgets only (with several nodes, io.emit would reach every node's).
    (this.io.local as unknown as { emit(e: string, p: unknown): void }).emit('server:draining', { seconds });
  }

  async close(): Promise<void> {
    this.calls?.endAll();
    await this.io.close();
  }
}
