// A tiny TCP load balancer for tests: each connection goes to the first backend that accepts it, so a dead node
// (its port refuses) is skipped as a real load balancer's health check would; websockets pass through untouched. A test
// can steer new connections to another backend and cut the open ones (the widgets behind it reconnect there).
import { connect, createServer, type Socket } from 'node:net';
import { freePort } from './server.js';

export interface Balancer {
  url: string;
  /** New connections try `backend` first from now on (then the others, in their order). */
  prefer(backend: string): void;
  /** Drops every open connection at once, as a failing load balancer or network path would. */
  cut(): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1; `backends` are http://host:port URLs in order of preference. */
export async function startBalancer(backends: string[]): Promise<Balancer> {
  const port = await freePort();
  const open = new Set<Socket>();
  let targets = backends.map((b) => new URL(b));
  const dial = (client: Socket, index: number): void => {
    const target = targets[index];
    if (!target) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    let connected = false;
    upstream.on('error', () => {
      if (connected) client.destroy();
      else dial(client, index + 1);
    });
    upstream.once('connect', () => {
      connected = true;
      open.add(upstream);
      upstream.once('close', () => open.delete(upstream));
      client.pipe(upstream).pipe(client);
      client.resume();
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    dial(client, 0);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    prefer(backend) {
      const first = new URL(backend);
      targets = [first, ...targets.filter((t) => t.host !== first.host)];
    },
    cut() {
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
