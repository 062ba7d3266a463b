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

/** Events a bot connection may send: bots watch calls through dispatch events; they carry no media yet. */
const BOT_EVENTS = new Set<ClientEventName>(['presence:update']);

/** A timer's longest delay; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const principalRoom = (id: string) => `p:${id}`;

export class Gateway implements SessionNotifier {
  readonly io: AstralIo;
  private calls: CallControl | null = null;
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
    this.io.on('connection', (socket: AstralSocket) => this.onConnection(socket, services));
  }

  private onConnection(socket: AstralSocket, { calls, channels, transfers, router }: CallServices): void {
    const { session } = socket.data;
    const { media, sessions } = this.deps;
    sessions.add(session);
    void socket.join(principalRoom(session.principal.party.userId));
    this.armExpiry(socket);
    socket.on('disconnect', () => {
      clearTimeout(this.expiryTimers.get(socket.id));
      this.expiryTimers.delete(socket.id);
      sessions.remove(session.id);
      calls.sessionClosed(session.id);
    });
    this.on(socket, 'media:setup', async (s) => ({ ...(await media.setup(s.id)), iceServers: this.deps.iceServers }));
    this.on(socket, 'media:capabilities', (s, p) => {
      media.setCapabilities(s.id, p.rtpCapabilities as never);
      calls.mediaReady(s.id);
      return {};
    });
    this.on(socket, 'media:connect', async (s, p) => (await media.connect(s.id, p), {}));
    this.on(socket, 'media:restartIce', async (s, p) => ({ iceParameters: await media.restartIce(s.id, p.transportId) }));
    this.on(socket, 'media:preflight', (s, p) => media.preflight(s.id, p));
    this.on(socket, 'media:preflight-end', (s) => (media.endPreflight(s.id), {}));
    this.on(socket, 'media:produce', async (s, p) => ({ producerId: await calls.produce(s, p) }));
    this.on(socket, 'voice:state', (s, p) => channels.voiceState(s, p));
    this.on(socket, 'voice:latency', (s, p) => (channels.setLatency(s, p.rtts), {}));
    this.on(socket, 'presence:update', (s, p) => ((s.dnd = p.dnd), {}));
    this.on(socket, 'session:refresh', async (s, p) => {
      const fresh = await this.deps.principals.fromToken(p.token);
      if (fresh.kind !== 'user' || fresh.instanceId !== s.principal.instanceId || fresh.party.userId !== s.principal.party.userId) {
        throw new AppError('forbidden', 'the new token is for another user');
      }
      s.principal = { ...s.principal, expiresAt: fresh.expiresAt! };
      this.armExpiry(socket);
      return { expiresAt: fresh.expiresAt!.toISOString() };
    });
    this.on(socket, 'call:dial', (s, p) => router.dial(s, p.destination));
    this.on(socket, 'call:answer', (s, p) => (calls.answer(s, p.callId), {}));
    this.on(socket, 'call:resume', (s, p) => (calls.resume(s, p.callId), {}));
    this.on(socket, 'call:decline', (s, p) => (calls.decline(s, p.callId), {}));
    this.on(socket, 'call:hangup', (s, p) => (calls.hangup(s, p.callId), {}));
    this.on(socket, 'call:mute', async (s, p) => (await calls.mute(s, p.callId, p.muted), {}));
    this.on(socket, 'call:hold', async (s, p) => (await calls.hold(s, p.callId, p.held), {}));
    this.on(socket, 'call:transfer', async (s, p) => (await transfers.start(calls.callFor(s, p.callId), s.id, p.destination, p.type), {}));
    this.on(socket, 'call:transfer-end', async (s, p) => {
      const call = calls.callFor(s, p.callId);
      await (p.action === 'complete' ? transfers.complete(call, s.id) : transfers.cancel(call, s.id));
      return {};
    });
    this.on(socket, 'call:dtmf', (s, p) => (calls.dtmf(s, p.callId, p.digits), {}));
    const regions = media.regions.map(({ id, name, emoji, endpoint }) => ({ id, name, emoji, endpoint: endpoint ?? '' }));
    socket.emit('session:ready', { user: partyOf(session), regions });
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

  /** Closes every socket of a principal whose credential was revoked (a bot). */
  revoke(principalId: string): void {
    for (const socket of this.io.sockets.sockets.values()) {
      if (socket.data.session?.principal.party.userId === principalId) this.end(socket, 'revoked');
    }
  }

  /** Registers a validated, acknowledged handler; a bad payload or a failure becomes an error ack. */
  private on<E extends ClientEventName>(socket: AstralSocket, event: E, handler: Handler<E>): void {
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
        const data = await handler(session, parsePayload(event, payload));
        reply({ ok: true, data });
      } catch (err) {
        if (!(err instanceof AppError)) this.deps.log.error({ err, event }, 'socket event failed');
        reply({ ok: false, error: toErrorBody(err) });
      }
    };
    (socket as unknown as { on(e: string, l: (...a: unknown[]) => void): void }).on(event, listener);
  }

  notify<E extends keyof ServerToClientEvents>(sessionId: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    (this.io.to(sessionId) as unknown as { emit(e: string, p: unknown): void }).emit(event, payload);
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
    (this.io as unknown as { emit(e: string, p: unknown): void }).emit('server:draining', { seconds });
  }

  async close(): Promise<void> {
    this.calls?.endAll();
    await this.io.close();
  }
}
