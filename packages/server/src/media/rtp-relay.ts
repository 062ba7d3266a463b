// RtpRelay: the main thread's handle on the RTP relay worker thread that carries every SIP leg's media (see rtp-relay-worker.ts).
import { startWorker } from '../util/worker.js';
import { WorkerHandle } from '../util/worker-handle.js';

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
export class RtpRelay extends WorkerHandle<RelayCommand, { port: number; internalPort: number }, Record<string, RelayLegStats>> {
  static start(): RtpRelay {
    // The worker inherits this process's loaders (tsx in development), so it can be TypeScript like the rest.
    return new RtpRelay(startWorker(new URL('./rtp-relay-worker.ts', import.meta.url)), 'RTP relay worker');
  }

  /**
   * Binds a carrier-facing UDP port (in the media range) and an internal one for the leg's PlainTransport; the carrier's
   * audio reaches the SFU stamped with `inSsrc` (carriers never signal theirs, and mediasoup routes by ssrc).
   */
  open(id: string, listenIp: string, range: { min: number; max: number }, inSsrc: number): Promise<{ port: number; internalPort: number }> {
    return this.openLeg(id, { type: 'open', id, listenIp, minPort: range.min, maxPort: range.max, inSsrc });
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

  protected onEvent(event: RelayEvent): void {
    switch (event.type) {
      case 'opened':
        return this.opened(event.id, { port: event.port, internalPort: event.internalPort });
      case 'error':
        this.openFailed(event.id, event.message);
        return;
      case 'stats':
        return this.statsArrived(event.requestId, event.stats);
      case 'dtmf':
        this.emit('dtmf', event.id, event.digit);
        return;
      case 'latched':
        this.emit('latched', event.id, event.ip, event.port);
        return;
    }
  }
}
