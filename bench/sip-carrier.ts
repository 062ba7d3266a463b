// A bench-only RTP carrier in a child process (so its CPU is not counted): per leg a UDP socket that sends 20 ms PCMA toward a relay port and counts what comes back.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Plain JS run with `node -e`: one JSON command per stdin line, one JSON answer per stdout line. */
const SCRIPT = `
const dgram = require('node:dgram');
const legs = [];
let timer = null;
const payload = Buffer.alloc(160);
for (let i = 0; i < 160; i++) payload[i] = (Math.round(Math.sin(i * 2 * Math.PI * 400 / 8000) * 20) & 0x7f) ^ 0x55;
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function tick() {
  for (const l of legs) {
    if (!l.to) continue;
    const h = Buffer.alloc(12);
    h[0] = 0x80; h[1] = 8;
    h.writeUInt16BE(l.seq = (l.seq + 1) & 0xffff, 2);
    h.writeUInt32BE(l.ts = (l.ts + 160) >>> 0, 4);
    h.writeUInt32BE(l.ssrc, 8);
    l.socket.send(Buffer.concat([h, payload]), l.to, '127.0.0.1');
  }
}
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.type === 'open') {
    const socket = dgram.createSocket('udp4');
    const leg = { socket, to: 0, seq: 0, ts: 0, ssrc: (Math.random() * 0xffffffff) >>> 0, received: 0 };
    socket.on('message', () => leg.received++);
    socket.bind(0, '127.0.0.1', () => { legs.push(leg); reply({ port: socket.address().port }); });
  } else if (cmd.type === 'send') {
    legs[cmd.index].to = cmd.port;
    timer ??= setInterval(tick, 20);
  } else if (cmd.type === 'counts') {
    reply({ received: legs.map((l) => l.received) });
  } else if (cmd.type === 'reset') {
    for (const l of legs) l.socket.close();
    legs.length = 0;
    clearInterval(timer); timer = null;
    reply({ ok: true });
  }
});
`;

export interface Carrier {
  pid: number;
  /** Binds one more carrier socket; returns its port. */
  open(): Promise<number>;
  /** Starts sending leg `index`'s PCMA to `port` (the relay's carrier-facing port). */
  send(index: number, port: number): void;
  /** Packets each leg's socket has received so far. */
  counts(): Promise<number[]>;
  /** Closes every socket. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export function startCarrier(): Carrier {
  const child: ChildProcess = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((answer: any) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const ask = <T>(cmd: object): Promise<T> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  return {
    pid: child.pid!,
    open: async () => (await ask<{ port: number }>({ type: 'open' })).port,
    send: (index, port) => void child.stdin!.write(JSON.stringify({ type: 'send', index, port }) + '\n'),
    counts: async () => (await ask<{ received: number[] }>({ type: 'counts' })).received,
    reset: async () => void (await ask({ type: 'reset' })),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
