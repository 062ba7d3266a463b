// Signaling: the typed socket.io connection to the gateway, with acknowledged requests that reject on errors.
import type { Ack, ClientEventName, ClientPayload, ClientResults, ClientToServerEvents, ServerToClientEvents } from '@astral/protocol';
import { io, type Socket } from 'socket.io-client';

export type GatewaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** An error the server (or the connection) reported, with a machine-readable code. */
export class AstralError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AstralError';
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

export function openSocket(server: string, token: string): GatewaySocket {
  return io(server, {
    auth: { token },
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5_000,
  });
}

/** Sends a client event and resolves with its data, or rejects with the server's error. */
export async function request<E extends ClientEventName>(
  socket: GatewaySocket,
  event: E,
  payload: ClientPayload<E>,
): Promise<ClientResults[E]> {
  let res: Ack<ClientResults[E]>;
  try {
    const emitter = socket.timeout(REQUEST_TIMEOUT_MS) as unknown as {
      emitWithAck(e: string, p: unknown): Promise<Ack<ClientResults[E]>>;
    };
    res = await emitter.emitWithAck(event, payload);
  } catch {
    throw new AstralError('unavailable', `no answer from the server to ${event}`);
  }
  if (!res.ok) throw new AstralError(res.error.code, res.error.message);
  return res.data;
}
