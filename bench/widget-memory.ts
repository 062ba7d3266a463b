// Memory per idle connected widget: N socket.io clients connect with widget tokens as the widget does (websocket, auth.token,
// until session:ready) and stay idle; the server's RSS and V8 heap (its /metrics) before and after, per widget.
import type { Socket } from 'socket.io-client';
import { mintToken, startServer, type RunningServer } from '../test/helpers/server.js';
import { connect } from './fanout.js';
import { rssBytes } from './proc-stats.js';
import { kib, row } from './stats.js';

const WIDGETS = Math.max(1, Number.parseInt(process.env.BENCH_WIDGETS ?? '', 10) || 200);
const SETTLE_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Closer = { close(): Promise<void> };

/** The server's V8 heap in use: the least of a few scrapes (the one nearest a collection), since GC cannot be forced from here. */
async function heapUsed(server: RunningServer): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    least = Math.min(least, Number(/^nodejs_heap_size_used_bytes ([0-9.eE+]+)$/m.exec(text)?.[1] ?? NaN));
    await sleep(200);
  }
  return least;
}

export async function runWidgetMemory(out: (line?: string) => void, keep: (c: Closer) => void): Promise<void> {
  const server = await startServer({ ASTRAL_WORKERS: '2' });
  keep({ close: () => server.stop() });
  const sockets: Socket[] = [];
  try {
    const tokens: string[] = [];
    for (let i = 0; i < WIDGETS; i++) tokens.push(await mintToken(server, `idle-${i}`, { extension: String(3000 + i) }));
    // A few widgets come and go first, so what every first connection allocates once (socket.io, caches) is not counted.
    for (const s of await Promise.all(tokens.slice(0, 10).map((t) => connect(server, t)))) s.disconnect();
    await sleep(SETTLE_MS);
    const pid = server.process.pid!;
    const [rss0, heap0] = [rssBytes(pid), await heapUsed(server)];
    for (let i = 0; i < WIDGETS; i += 20) sockets.push(...(await Promise.all(tokens.slice(i, i + 20).map((t) => connect(server, t)))));
    await sleep(SETTLE_MS);
    const [rss1, heap1] = [rssBytes(pid), await heapUsed(server)];
    out(`Idle widgets (${WIDGETS} socket.io clients in this process (BENCH_WIDGETS), widget tokens, websocket, session:ready, then idle ${SETTLE_MS / 1000} s):`);
    out('  ' + row('server RSS per connected idle widget', `${kib((rss1 - rss0) / WIDGETS)} (RSS ${kib(rss0)} → ${kib(rss1)})`));
    out('  ' + row('server V8 heap used per connected idle widget', `${kib((heap1 - heap0) / WIDGETS)} (least of 5 /metrics nodejs_heap_size_used_bytes scrapes; GC makes it noisy)`));
  } finally {
    for (const s of sockets) s.disconnect();
  }
}
