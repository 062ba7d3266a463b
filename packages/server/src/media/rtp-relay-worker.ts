// RTP relay worker thread: carrier RTP ↔ mediasoup PlainTransports for SIP legs — SSRC/sequence rewriting, symmetric RTP,
// G.711 µ-law/A-law conversion, Opus → G.711 transcoding, RFC 4733 DTMF detection and generation. Never on the main loop.
import alawmulaw from 'alawmulaw';
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import type { RelayCommand, RelayEvent, RelayLegStats } from './rtp-relay.js';
import type { StatsCommand } from '../util/worker-handle.js';
import { osThreadId } from '../util/worker.js';
import { buildRtp, parseRtp, tsDelta, type ParsedRtp } from './rtp.js';
import { decodeOpusStereo, newOpusDecoder, type OpusDecoder } from './opus-decoder.js';

type G711 = 'PCMU' | 'PCMA';
const SFU_PT: Record<G711, number> = { PCMU: 0, PCMA: 8 };
const OPUS_PT = 100;
const DTMF_EVENTS = '0123456789*#ABCD';
/** A source silent this long may be replaced by another (a transfer swapped who the carrier hears). */
const SOURCE_SWITCH_MS = 120;
/** A packet from the current source at most this much (ms of its clock) behind the last one is late, and dropped. */
const MAX_LATE_MS = 1000;

const port = parentPort!;
const emit = (event: RelayEvent) => port.postMessage(event);

const codecOf = (g: G711) => (g === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw);

class Leg {
  readonly ext: Socket;
  readonly int: Socket;
  sfuPort = 0;
  sfuCodec: G711 = 'PCMU';
  carrier: { ip: string; port: number; codec: G711; payloadType: number; telephoneEventPt: number | null } | null = null;
  /** Where the carrier's RTP comes from (symmetric RTP: we answer there, whatever its SDP said). */
  latched: { ip: string; port: number } | null = null;
  readonly inSsrc: number;
  readonly outSsrc = (Math.random() * 0xffffffff) >>> 0;
  private outSeq = (Math.random() * 0xffff) >>> 0;
  private outTs = (Math.random() * 0xffffffff) >>> 0;
  /** The SFU stream now sent to the carrier: its ssrc, last timestamp (its own clock) and when it last sent. */
  private source: { ssrc: number; lastTs: number; clockDiv: number; lastAt: number } | null = null;
  private lastDtmfTs: number | null = null;
  private opus: OpusDecoder | null = null;
  private dtmfQueue: string[] = [];
  private dtmfTimer: NodeJS.Timeout | null = null;
  readonly stats: RelayLegStats = { fromCarrier: 0, toCarrier: 0, toSfu: 0, fromSfu: 0, dtmfIn: 0, dtmfOut: 0, transcoded: 0 };

  constructor(
    readonly id: string,
    ext: Socket,
    int: Socket,
    inSsrc: number,
  ) {
    this.ext = ext;
    this.int = int;
    this.inSsrc = inSsrc;
    ext.on('message', (msg, rinfo) => this.fromCarrier(msg, rinfo.address, rinfo.port));
    int.on('message', (msg) => this.fromSfu(msg));
    ext.on('error', () => undefined);
    int.on('error', () => undefined);
  }

  private fromCarrier(msg: Buffer, ip: string, srcPort: number): void {
    const packet = parseRtp(msg);
    if (!packet || !this.carrier) return;
    if (!this.latched || this.latched.ip !== ip || this.latched.port !== srcPort) {
      this.latched = { ip, port: srcPort };
      emit({ type: 'latched', id: this.id, ip, port: srcPort });
    }
    this.stats.fromCarrier++;
    if (packet.payloadType === this.carrier.telephoneEventPt) return this.dtmfIn(packet);
    if (packet.payloadType !== this.carrier.payloadType || this.sfuPort === 0) return;
    let payload = packet.payload;
    if (this.carrier.codec !== this.sfuCodec) payload = Buffer.from(codecOf(this.sfuCodec).encode(codecOf(this.carrier.codec).decode(payload)));
    this.int.send(buildRtp({ payloadType: SFU_PT[this.sfuCodec], marker: packet.marker, seq: packet.seq, timestamp: packet.timestamp, ssrc: this.inSsrc }, payload), this.sfuPort, '127.0.0.1');
    this.stats.toSfu++;
  }

  /** RFC 4733: one digit per event, reported once at its end (the end packet is sent three times). */
  private dtmfIn(packet: ParsedRtp): void {
    if (packet.payload.length < 4) return;
    const event = packet.payload[0]!;
    const ended = (packet.payload[1]! & 0x80) !== 0;
    if (!ended || event >= DTMF_EVENTS.length || packet.timestamp === this.lastDtmfTs) return;
    this.lastDtmfTs = packet.timestamp;
    this.stats.dtmfIn++;
    emit({ type: 'dtmf', id: this.id, digit: DTMF_EVENTS[event]! });
  }

  private fromSfu(msg: Buffer): void {
    const packet = parseRtp(msg);
    const to = this.latched ?? this.carrier;
    if (!packet || !this.carrier || !to) return;
    this.stats.fromSfu++;
    const opus = packet.payloadType === OPUS_PT;
    if (!opus && packet.payloadType !== SFU_PT.PCMU && packet.payloadType !== SFU_PT.PCMA) return;
    const now = Date.now();
    const clockDiv = opus ? 6 : 1;
    if (!this.source || this.source.ssrc !== packet.ssrc) {
      if (this.source && now - this.source.lastAt < SOURCE_SWITCH_MS) return; // one voice at a time: no mixing here
      this.source = { ssrc: packet.ssrc, lastTs: packet.timestamp, clockDiv, lastAt: now };
      this.outTs = (this.outTs + 160) >>> 0;
    } else {
      const delta = tsDelta(packet.timestamp, this.source.lastTs);
      // Late or repeated: already played past it. A jump back further than that: the stream restarted, so carry on.
      if (delta <= 0 && delta > -MAX_LATE_MS * 8 * clockDiv) return;
      this.outTs = (this.outTs + (delta > 0 ? Math.round(delta / clockDiv) : 160)) >>> 0;
      this.source.lastTs = packet.timestamp;
      this.source.lastAt = now;
    }
    if (this.dtmfTimer) return; // a digit being played replaces the voice for its duration
    let payload: Buffer;
    if (opus) {
      const pcm = this.decodeOpus(packet.payload);
      if (!pcm) return;
      payload = Buffer.from(codecOf(this.carrier.codec).encode(pcm));
      this.stats.transcoded++;
    } else {
      const codec: G711 = packet.payloadType === SFU_PT.PCMU ? 'PCMU' : 'PCMA';
      payload = codec === this.carrier.codec ? packet.payload : Buffer.from(codecOf(this.carrier.codec).encode(codecOf(codec).decode(packet.payload)));
    }
    this.ext.send(buildRtp({ payloadType: this.carrier.payloadType, marker: packet.marker, seq: this.outSeq++, timestamp: this.outTs, ssrc: this.outSsrc }, payload), to.port, to.ip);
    this.stats.toCarrier++;
  }

  /** Opus (48 kHz stereo) → 8 kHz mono: downmix, then average each 6 samples (a crude low-pass before decimating). */
  private decodeOpus(payload: Buffer): Int16Array | null {
    this.opus ??= newOpusDecoder();
    const stereo = decodeOpusStereo(this.opus, payload);
    if (!stereo) return null;
    const frames = stereo.length / 2;
    const pcm = new Int16Array(Math.floor(frames / 6));
    for (let i = 0; i < pcm.length; i++) {
      let sum = 0;
      for (let k = 0; k < 6; k++) sum += stereo[2 * (6 * i + k)]! + stereo[2 * (6 * i + k) + 1]!;
      pcm[i] = sum / 12;
    }
    return pcm;
  }

  /** Queues digits to send as RFC 4733 events: 100 ms each, end packet three times, 60 ms apart. */
  sendDtmf(digits: string): void {
    this.dtmfQueue.push(...digits.toUpperCase().split('').filter((d) => DTMF_EVENTS.includes(d)));
    if (!this.dtmfTimer) this.nextDigit();
  }

  private nextDigit(): void {
    const digit = this.dtmfQueue.shift();
    const pt = this.carrier?.telephoneEventPt;
    const to = this.latched ?? this.carrier;
    if (digit === undefined || pt == null || !to) {
      this.dtmfTimer = null;
      return;
    }
    const event = DTMF_EVENTS.indexOf(digit);
    const ts = (this.outTs = (this.outTs + 160) >>> 0);
    let step = 0;
    const send = () => {
      step++;
      const ended = step > 5;
      const duration = Math.min(step, 5) * 160;
      const payload = Buffer.from([event, (ended ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
      this.ext.send(buildRtp({ payloadType: pt, marker: step === 1, seq: this.outSeq++, timestamp: ts, ssrc: this.outSsrc }, payload), to.port, to.ip);
      this.stats.toCarrier++;
      if (step < 8) this.dtmfTimer = setTimeout(send, ended ? 5 : 20);
      else {
        this.stats.dtmfOut++;
        this.outTs = (ts + 800) >>> 0;
        this.dtmfTimer = setTimeout(() => this.nextDigit(), 60);
      }
    };
    send();
  }

  close(): void {
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    this.opus?.delete();
    this.ext.close();
    this.int.close();
  }
}

const legs = new Map<string, Leg>();

function bind(socket: Socket, ip: string, portNumber: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.bind(portNumber, ip, () => {
      socket.off('error', onError);
      resolve(socket.address().port);
    });
  });
}

/** Binds the carrier-facing socket in the media port range (random tries), else on any free port. */
async function bindExternal(ip: string, min: number, max: number): Promise<{ socket: Socket; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = createSocket('udp4');
    const candidate = min + Math.floor(Math.random() * (max - min + 1));
    try {
      return { socket, port: await bind(socket, ip, candidate) };
    } catch {
      socket.close();
    }
  }
  const socket = createSocket('udp4');
  return { socket, port: await bind(socket, ip, 0) };
}

async function handle(cmd: RelayCommand | StatsCommand): Promise<void> {
  switch (cmd.type) {
    case 'open': {
      try {
        const { socket: ext, port: extPort } = await bindExternal(cmd.listenIp, cmd.minPort, cmd.maxPort);
        const int = createSocket('udp4');
        const intPort = await bind(int, '127.0.0.1', 0);
        legs.set(cmd.id, new Leg(cmd.id, ext, int, cmd.inSsrc));
        emit({ type: 'opened', id: cmd.id, port: extPort, internalPort: intPort });
      } catch (err) {
        emit({ type: 'error', id: cmd.id, message: (err as Error).message });
      }
      return;
    }
    case 'sfu': {
      const leg = legs.get(cmd.id);
      if (leg) {
        leg.sfuPort = cmd.port;
        leg.sfuCodec = cmd.codec;
      }
      return;
    }
    case 'carrier': {
      const leg = legs.get(cmd.id);
      if (leg) leg.carrier = { ip: cmd.ip, port: cmd.port, codec: cmd.codec, payloadType: cmd.payloadType, telephoneEventPt: cmd.telephoneEventPt };
      return;
    }
    case 'dtmf':
      legs.get(cmd.id)?.sendDtmf(cmd.digits);
      return;
    case 'stats':
      emit({ type: 'stats', requestId: cmd.requestId, stats: Object.fromEntries([...legs].map(([id, leg]) => [id, { ...leg.stats }])) });
      return;
    case 'close':
      legs.get(cmd.id)?.close();
      legs.delete(cmd.id);
      return;
  }
}

port.on('message', (cmd: RelayCommand | StatsCommand) => void handle(cmd));

emit({ type: 'ready', threadId: osThreadId() });
