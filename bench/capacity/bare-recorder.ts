// The bare relay's recorder, as a minimal mediasoup app would write it: a worker thread binding one loopback UDP socket per
// recorded producer (its PlainTransport consumer sends there) and appending each RTP packet as it arrives to that producer's file.
import { createSocket, type Socket } from 'node:dgram';
import { createWriteStream, type WriteStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export type RecorderCommand = { type: 'open'; id: string; path: string } | { type: 'close'; id: string };
export type RecorderEvent = { type: 'opened'; id: string; port: number };

const port = parentPort!;
const open = new Map<string, { socket: Socket; file: WriteStream }>();

port.on('message', (cmd: RecorderCommand) => {
  if (cmd.type === 'close') {
    const rec = open.get(cmd.id);
    open.delete(cmd.id);
    rec?.socket.close();
    rec?.file.end();
    return;
  }
  const file = createWriteStream(cmd.path);
  const socket = createSocket('udp4');
  socket.on('message', (packet) => file.write(packet));
  socket.bind(0, '127.0.0.1', () => {
    open.set(cmd.id, { socket, file });
    port.postMessage({ type: 'opened', id: cmd.id, port: socket.address().port } satisfies RecorderEvent);
  });
});
