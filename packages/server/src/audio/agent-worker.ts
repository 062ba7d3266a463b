// Agent audio worker thread: per agent leg, RTP from and to its mediasoup PlainTransport over loopback UDP, the caller's audio decoded
// and mixed for the agent's engine (a media-stream bot, an OpenAI Realtime session or the voice pipeline with its vendors), the agent's voice on a 20 ms clock.
// Never on the main loop.
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import { mediaStreamEngine } from '../agents/media-stream.js';
import { realtimeEngine } from '../agents/realtime/engine.js';
import { pipelineEngine } from '../agents/vendors/engine.js';
import { LOCAL_VENDORS } from '../agents/vendors/select.js';
import { parseRtp } from '../media/rtp.js';
import { osThreadId } from '../util/worker.js';
import type { AgentCommand, AgentEvent, AgentLegStats } from './agent-audio.js';
import type { StatsCommand } from '../util/worker-handle.js';
import { CallerAudio } from './caller-audio.js';
import type { AgentEngine, EngineHost } from './engine.js';
import { Playback } from './playback.js';

const port = parentPort!;
const emit = (event: AgentEvent) => port.postMessage(event);

type StartCommand = Extract<AgentCommand, { type: 'start' }>;

class AgentLeg {
  readonly stats: AgentLegStats = { fromSfu: 0, toSfu: 0, toBot: 0, fromBot: 0, dropped: 0, bargeIns: 0, speaking: false };
  private caller: CallerAudio | null = null;
  private playback: Playback | null = null;
  private engine: AgentEngine | null = null;
  /** Commands that arrived while the leg was starting, run once it has. */
  private started: Promise<void> | null = null;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly socket: Socket,
  ) {
    socket.on('message', (msg) => this.fromSfu(msg));
    socket.on('error', () => undefined);
  }

  start(cmd: StartCommand): void {
    this.started = this.run(cmd).catch((err: unknown) => {
      if (!this.closed) emit({ type: 'error', id: this.id, message: `agent leg: ${(err as Error).message}` });
    });
  }

  whenStarted(action: (engine: AgentEngine) => void): void {
    void this.started?.then(() => {
      if (this.engine && !this.closed) action(this.engine);
    });
  }

  private async run(cmd: StartCommand): Promise<void> {
    const { agent } = cmd;
    const factory =
      agent.provider === 'openai-realtime' ? realtimeEngine(agent, cmd.codec) : agent.provider === 'pipecat' && agent.url ? mediaStreamEngine(agent.url, cmd.stream) : pipelineEngine(agent, cmd.vendors ?? LOCAL_VENDORS);
    const target = {
      codec: cmd.codec,
      payloadType: cmd.payloadType,
      ssrc: cmd.ssrc,
      send: (packet: Buffer) => {
        this.socket.send(packet, cmd.sfuPort, '127.0.0.1');
        this.stats.toSfu++;
      },
    };
    const playback = await Playback.create(target, factory.outputRate, () => this.caller?.fillGap());
    if (this.closed) return playback.close();
    this.playback = playback;
    this.caller = new CallerAudio(factory.inputRate, (frame) => this.engine?.hear(frame));
    const host: EngineHost = {
      voice: playback,
      stats: this.stats,
      turn: (turn) => !this.closed && emit({ type: 'turn', id: this.id, turn }),
      hangup: (reason) => !this.closed && emit({ type: 'hangup', id: this.id, reason }),
      transfer: (destination) => !this.closed && emit({ type: 'transfer', id: this.id, destination }),
      sendDtmf: (digits) => !this.closed && emit({ type: 'dtmf', id: this.id, digits }),
      error: (message) => !this.closed && emit({ type: 'error', id: this.id, message }),
    };
    const engine = await factory.create(host);
    if (this.closed) return engine.close();
    this.engine = engine;
  }

  private fromSfu(msg: Buffer): void {
    const packet = parseRtp(msg);
    if (!packet) return;
    this.stats.fromSfu++;
    this.caller?.receive(packet);
  }

  snapshot(): AgentLegStats {
    return { ...this.stats, speaking: this.playback?.playing ?? false };
  }

  close(): void {
    this.closed = true;
    this.engine?.close();
    this.playback?.close();
    this.caller?.close();
    this.socket.close();
  }
}

const legs = new Map<string, AgentLeg>();

function handle(cmd: AgentCommand | StatsCommand): void {
  switch (cmd.type) {
    case 'open': {
      const socket = createSocket('udp4');
      socket.once('error', (err) => emit({ type: 'error', id: cmd.id, message: err.message }));
      socket.bind(0, '127.0.0.1', () => {
        legs.set(cmd.id, new AgentLeg(cmd.id, socket));
        emit({ type: 'opened', id: cmd.id, port: socket.address().port });
      });
      return;
    }
    case 'start':
      legs.get(cmd.id)?.start(cmd);
      return;
    case 'answered':
      legs.get(cmd.id)?.whenStarted((engine) => engine.answered());
      return;
    case 'dtmf':
      legs.get(cmd.id)?.whenStarted((engine) => engine.dtmf(cmd.digit));
      return;
    case 'stats':
      emit({ type: 'stats', requestId: cmd.requestId, stats: Object.fromEntries([...legs].map(([id, leg]) => [id, leg.snapshot()])) });
      return;
    case 'close':
      legs.get(cmd.id)?.close();
      legs.delete(cmd.id);
      return;
  }
}

port.on('message', handle);
emit({ type: 'ready', threadId: osThreadId() });
