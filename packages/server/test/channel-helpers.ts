// Shared fixtures for the channel voice tests: two RTC regions, users, bots, channels and recording gateway clients.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { ADMIN_KEY, api, startTestServer, type TestServer } from './helpers.js';

export const REGIONS = [
  { id: 'eu-central', name: 'EU Central', emoji: '🇩🇪', workers: [0], endpoint: 'https://eu.media.example.test' },
  { id: 'us-east', name: 'US East', emoji: '🇺🇸', workers: [1], endpoint: 'https://us.media.example.test' },
];
/** Two workers, one per region; endpoints are set so tests can tell they never leak into REST region lists. */
export const REGION_ENV = { ASTRAL_WORKERS: '2', ASTRAL_REGIONS: JSON.stringify(REGIONS) };

export const DISPATCH_EVENTS = new Set(['CALL_CREATE', 'CALL_UPDATE', 'CALL_DELETE', 'VOICE_STATE_UPDATE', 'VOICE_SERVER_UPDATE']);

export type Ack = { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string } };
export type Dispatch = { event: string; data: Record<string, unknown> };
export type Principal = { id: string; token: string };

export interface Client {
  socket: Socket;
  /** The server-side session id (equal to the socket id). */
  sessionId: string;
  /** Gateway dispatch events in arrival order; `ringing` lists are sorted (they are sets). */
  events: Dispatch[];
  /** `call:incoming` payloads (each was acked `{ok: true}`). */
  incoming: Record<string, unknown>[];
  /** `call:ended` payloads. */
  ended: Record<string, unknown>[];
  req(event: string, payload?: unknown): Promise<Ack>;
  /** Resolves once `check()` holds; fails after `ms` showing what this client saw. */
  until(check: () => boolean, what: string, ms?: number): Promise<void>;
  /** Waits for the n-th dispatch of `event` (1-based). */
  seen(event: string, n?: number): Promise<void>;
  /** A request/ack round trip: every event the server emitted to this socket before it has arrived. */
  barrier(): Promise<void>;
}

export const auth = {
  bot: (token: string) => ({ authorization: `Bot ${token}` }),
  bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
};

const normalize = (data: Record<string, unknown>): Record<string, unknown> =>
  Array.isArray(data.ringing) ? { ...data, ringing: [...(data.ringing as string[])].sort() } : data;

export function channelKit(t: TestServer) {
  const sockets: Socket[] = [];
  let seq = 0;

  async function user(prefix = 'user'): Promise<Principal> {
    const res = await api(t, 'POST', '/api/v1/tokens', { key: ADMIN_KEY, body: { identity: `${prefix}-${++seq}` } });
    assert.equal(res.status, 201);
    return { id: res.body.user_id as string, token: res.body.token as string };
  }

  async function users(n: number, prefix = 'user'): Promise<Principal[]> {
    const out: Principal[] = [];
    for (let i = 0; i < n; i++) out.push(await user(prefix));
    return out;
  }

  async function bot(name = 'bot'): Promise<Principal & { name: string }> {
    const res = await api(t, 'POST', '/api/v1/bots', { key: ADMIN_KEY, body: { name: `${name}-${++seq}` } });
    assert.equal(res.status, 201);
    return { id: res.body.id as string, name: res.body.name as string, token: res.body.token as string };
  }

  async function channel(recipients: string[]): Promise<string> {
    const res = await api(t, 'POST', '/api/v1/channels', { key: ADMIN_KEY, body: { recipients } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  }

  async function connect(token: string): Promise<Client> {
    const socket = io(t.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const events: Dispatch[] = [];
    const incoming: Record<string, unknown>[] = [];
    const ended: Record<string, unknown>[] = [];
    socket.onAny((event: string, data: Record<string, unknown>) => {
      if (DISPATCH_EVENTS.has(event)) events.push({ event, data: normalize(data) });
      if (event === 'call:ended') ended.push(data);
    });
    socket.on('call:incoming', (data: Record<string, unknown>, ack: (res: Ack) => void) => {
      incoming.push(data);
      ack({ ok: true, data: {} });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('session:ready', () => resolve());
      socket.once('connect_error', reject);
    });
    const req = (event: string, payload?: unknown) => socket.timeout(5000).emitWithAck(event, payload) as Promise<Ack>;
    const until = async (check: () => boolean, what: string, ms = 3000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) {
          assert.fail(`timed out waiting for ${what}; dispatches seen: ${JSON.stringify(events)}; ended: ${JSON.stringify(ended)}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    return {
      socket,
      sessionId: socket.id!,
      events,
      incoming,
      ended,
      req,
      until,
      seen: (event, n = 1) => until(() => events.filter((e) => e.event === event).length >= n, `${event} #${n}`),
      // Hanging up a call that does not exist changes nothing, for users (not_found) and bots (forbidden) alike.
      barrier: async () => assert.equal((await req('call:hangup', { callId: '0' })).ok, false),
    };
  }

  const close = () => {
    for (const s of sockets) s.disconnect();
  };

  return { user, users, bot, channel, connect, close };
}

/** The voice state a joined session is dispatched with. */
export const voiceState = (channelId: string | null, userId: string, sessionId: string, selfMute = false, selfDeaf = false) => ({
  event: 'VOICE_STATE_UPDATE',
  data: { channel_id: channelId, user_id: userId, session_id: sessionId, self_mute: selfMute, self_deaf: selfDeaf },
});

/** Registers a two-region test server and a channel kit for a test file (node:test before/after) and hands them over. */
export function useChannelServer(ready: (t: TestServer, kit: ReturnType<typeof channelKit>) => void): void {
  let t: TestServer | undefined;
  let kit: ReturnType<typeof channelKit> | undefined;
  before(async () => {
    const server = await startTestServer(REGION_ENV);
    t = server;
    kit = channelKit(server);
    ready(server, kit);
  });
  after(async () => {
    kit?.close();
    await t?.close();
  });
}
