// Recording ingest worker thread: one loopback UDP socket per recorded track (a mediasoup PlainTransport consumer sends to
// it), RTP parsed and appended to the call's frame log here, never on the main loop; write errors are reported, not thrown.
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import { parseRtp } from '../media/rtp.js';
import type { StatsCommand } from '../util/worker-handle.js';
import { osThreadId } from '../util/worker.js';
import { FrameLogWriter } from './frame-log.js';
import type { IngestCommand, IngestEvent, IngestLogStats } from './ingest.js';

const port = parentPort!;
const emit = (event: IngestEvent) => port.postMessage(event);

interface Log {
  writer: FrameLogWriter;
  sockets: Socket[];
  stats: IngestLogStats;
}

const logs = new Map<string, Log>();

function openLog(callId: string, path: string): void {
  const writer = new FrameLogWriter(path, (err) => {
    const log = logs.get(callId);
    if (log?.writer !== writer) return;
    logs.delete(callId);
    for (const socket of log.sockets) socket.close();
    emit({ type: 'failed', callId, message: err.message, code: (err as NodeJS.ErrnoException).code ?? null, holdsFrames: writer.holdsFrames });
  });
  logs.set(callId, { writer, sockets: [], stats: { packets: 0, bytes: 0 } });
}

async function openTrack(cmd: Extract<IngestCommand, { type: 'track' }>): Promise<void> {
  const log = logs.get(cmd.callId);
  if (!log) return emit({ type: 'error', id: cmd.id, message: `no recording of call ${cmd.callId} is being written` });
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => (socket.off('error', reject), resolve()));
    });
  } catch (err) {
    socket.close();
    return emit({ type: 'error', id: cmd.id, message: (err as Error).message });
  }
  if (logs.get(cmd.callId) !== log) {
    socket.close();
    return emit({ type: 'error', id: cmd.id, message: `the recording of call ${cmd.callId} stopped` });
  }
  socket.on('error', () => undefined);
  log.sockets.push(socket);
  log.writer.declare(cmd.track, cmd.codec);
  socket.on('message', (msg) => {
    const packet = parseRtp(msg);
    if (packet?.payloadType !== cmd.payloadType) return;
    log.writer.append(cmd.track, packet.timestamp, packet.payload);
    log.stats.packets++;
    log.stats.bytes += packet.payload.length;
  });
  emit({ type: 'opened', id: cmd.id, port: socket.address().port });
}

async function closeLog(callId: string): Promise<void> {
  const log = logs.get(callId);
  logs.delete(callId);
  if (log) {
    for (const socket of log.sockets) socket.close();
    await log.writer.close();
  }
  emit({ type: 'closed', callId });
}

async function handle(cmd: IngestCommand | StatsCommand): Promise<void> {
  switch (cmd.type) {
    case 'log':
      return openLog(cmd.callId, cmd.path);
    case 'track':
      return openTrack(cmd);
    case 'close':
      return closeLog(cmd.callId);
    case 'stats':
      return emit({ type: 'stats', requestId: cmd.requestId, stats: Object.fromEntries([...logs].map(([id, log]) => [id, { ...log.stats }])) });
  }
}

port.on('message', (cmd: IngestCommand | StatsCommand) => void handle(cmd));

emit({ type: 'ready', threadId: osThreadId() });
