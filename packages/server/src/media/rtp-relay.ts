// RtpRelay: the main thread's handle on the RTP relay worker thread that carries every SIP leg's media (see rtp-relay-worker.ts).
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/worker.js';

export type G711Codec = 'PCMU' | 'PCMA';

export interface RelayLegStats {
  fromCarrier: number;
  toCarrier: number;
  toSfu: number;
  fromSfu: number;
  dtmfIn: number;
  dtmfOut: number;
  /** Packets transcoded from Opus (a party that sends Opus to a G.711 carrier). */
  transcoded: number;
}

export type RelayCommand =
  | { type: 'open'; id: string; listenIp: string; minPort: number; maxPort: number; inSsrc: number }
  | { type: 'sfu'; id: string; port: number; codec: G711Codec }
  | { type: 'carrier'; id: string; ip: string; port: number; codec: G711Codec; payloadType: number; telephoneEventPt: number | null }
  | { type: 'dtmf'; id: string; digits: string }
  | { type: 'stats'; requestId: number }
  | { type: 'close'; id: string };

export type RelayEvent =
  | { type: 'ready'; threadId: number | null }
  | { type: 'opened'; id: string; port: number; internalPort: number }
  | { type: 'error'; id: string; message: string }
  | { type: 'latched'; id: string; ip: string; port: number }
  | { type: 'dtmf'; id: string; digit: string }
  | { type: 'stats'; requestId: number; stats: Record<string, RelayLegStats> };

/**
 * Events: `ready` (threadId) — the worker runs, as this OS thread (for `top -H`; null off Linux); `dtmf` (legId, digit) —
 * an RFC 4733 digit from the carrier; `latched` (legId, ip, port); `exit` (err) — the worker died (its legs lost their
 * media; the owner starts a new relay).
 */
export class RtpRelay extends EventEmitter {
  private readonly pending = new Map<string, { resolve: (ports: { port: number; internalPort: number }) => void; reject: (err: Error) => void }>();
  private readonly statRequests = new Map<number, (stats: Record<string, RelayLegStats>) => void>();
  private nextRequest = 0;

  private constructor(private readonly worker: Worker) {
    super();
    worker.on('message', (event: RelayEvent) => this.onEvent(event));
    worker.on('error', (err) => this.died(err));
    worker.on('exit', (code) => this.died(new Error(`RTP relay worker exited with code ${code}`)));
    worker.unref();
  }

  static start(): RtpRelay {
    // The worker inherits this process's loaders (tsx in development), so it can be TypeScript like the rest.
    return new RtpRelay(startWorker(new URL('./rtp-relay-worker.ts', import.meta.url)));
  }

  /**
   * Binds a carrier-facing UDP port (in the media range) and an internal one for the leg's PlainTransport; the carrier's
   * audio reaches the SFU stamped with `inSsrc` (carriers never signal theirs, and mediasoup routes by ssrc).
   */
  open(id: string, listenIp: string, range: { min: number; max: number }, inSsrc: number): Promise<{ port: number; internalPort: number }> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'open', id, listenIp, minPort: range.min, maxPort: range.max, inSsrc });
    });
  }

  /** Where the leg's PlainTransport listens, and the codec the SFU side of the leg uses. */
  connectSfu(id: string, port: number, codec: G711Codec): void {
    this.send({ type: 'sfu', id, port, codec });
  }

  /** The carrier's media address and payload types, from its SDP (until its first packet shows where it really is). */
  setCarrier(id: string, carrier: { ip: string; port: number; codec: G711Codec; payloadType: number; telephoneEventPt: number | null }): void {
    this.send({ type: 'carrier', id, ...carrier });
  }

  sendDtmf(id: string, digits: string): void {
    this.send({ type: 'dtmf', id, digits });
  }

  close(id: string): void {
    this.send({ type: 'close', id });
  }

  stats(): Promise<Record<string, RelayLegStats>> {
    const requestId = ++this.nextRequest;
    return new Promise((resolve) => {
      this.statRequests.set(requestId, resolve);
      this.send({ type: 'stats', requestId });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private dead = false;

  private died(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.emit('exit', err);
  }

  private send(cmd: RelayCommand): void {
    if (this.dead) {
      if (cmd.type === 'open') this.pending.get(cmd.id)?.reject(new Error('the RTP relay is not running'));
      return;
    }
    this.worker.postMessage(cmd);
  }

  private onEvent(event: RelayEvent): void {
    switch (event.type) {
      case 'ready':
        this.emit('ready', event.threadId);
        return;
      case 'opened':
        this.pending.get(event.id)?.resolve({ port: event.port, internalPort: event.internalPort });
        this.pending.delete(event.id);
        return;
      case 'error':
        this.pending.get(event.id)?.reject(new Error(event.message));
        this.pending.delete(event.id);
        return;
      case 'stats':
        this.statRequests.get(event.requestId)?.(event.stats);
        this.statRequests.delete(event.requestId);
        return;
      case 'dtmf':
        this.emit('dtmf', event.id, event.digit);
        return;
      case 'latched':
        this.emit('latched', event.id, event.ip, event.port);
        return;
    }
  }
}
