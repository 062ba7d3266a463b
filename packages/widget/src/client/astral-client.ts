// AstralClient: the headless softphone <astral-phone> renders — connection and calls (core) plus in-call controls.
import { AstralClientCore } from './client-core.js';
import { loadPreflight } from './preflight-loader.js';
import { AstralError, request } from './signaling.js';
import type { PreflightOptions, PreflightReport } from './types.js';

export class AstralClient extends AstralClientCore {
  /**
   * A short test call against the server while the phone is ready: the microphone goes to the SFU and straight back
   * (no one rings, no call is recorded). Reports RTT, jitter, loss, an estimated MOS, the ICE candidates and a verdict;
   * `preflight-progress` events follow it once a second. `unsupported` when this browser cannot make calls.
   */
  async preflight(options: PreflightOptions = {}): Promise<PreflightReport> {
    if (typeof RTCPeerConnection === 'undefined' || !navigator.mediaDevices?.getUserMedia) return unsupportedReport();
    const media = this.requireState('ready', this.media);
    const run = await loadPreflight();
    // The microphone the user chose (devices), so the test covers the device calls will use.
    const mic = await navigator.mediaDevices.getUserMedia({ audio: this.devices.audioConstraints(), video: false });
    try {
      const loop = await media.loopback(mic.getAudioTracks()[0]!);
      try {
        const link = { stats: loop.stats, stillIdle: () => this._state === 'ready' };
        return await run(link, options, (p) => this.emit('preflight-progress', p), (code, message) => new AstralError(code, message));
      } finally {
        loop.stop();
      }
    } finally {
      mic.getTracks().forEach((t) => t.stop());
    }
  }

  /** Deafen (channel calls): stop receiving the others' audio until undeafened. */
  async setDeafened(deaf: boolean): Promise<void> {
    const channelId = this._call?.channelId;
    if (!channelId || !this.socket) throw new AstralError('invalid_state', 'deafen needs a channel call');
    await request(this.socket, 'voice:state', { channel_id: channelId, self_deaf: deaf });
  }

  /** Do-not-disturb: rings still arrive, marked silent. */
  setDoNotDisturb(dnd: boolean): void {
    if (this.socket) request(this.socket, 'presence:update', { dnd }).catch((err: unknown) => this.fail(err));
  }

  /** Hold (or resume) the call: nothing is sent or heard until resumed; the others see it. */
  setHeld(held: boolean): void {
    const call = this._call;
    if (!call || !this.socket || this._state !== 'in-call') return;
    this.setCall({ ...call, held });
    request(this.socket, 'call:hold', { callId: call.id, held }).catch((err: unknown) => {
      if (this._call?.id === call.id) this.setCall({ ...this._call, held: !held });
      this.fail(err);
    });
  }

  /**
   * Transfers the other party to `destination`. Blind: you leave at once. Attended: the other party waits on hold
   * while you talk to the target; then `completeTransfer()` or `cancelTransfer()`.
   */
  async transfer(destination: string, type: 'blind' | 'attended' = 'blind'): Promise<void> {
    const call = this._call;
    if (!call || !this.socket || this._state !== 'in-call') throw new AstralError('invalid_state', 'transfer needs an answered call');
    await request(this.socket, 'call:transfer', { callId: call.id, destination, type }).catch((err: unknown) => this.failAndThrow(err));
  }

  completeTransfer(): Promise<void> {
    return this.endTransfer('complete');
  }

  cancelTransfer(): Promise<void> {
    return this.endTransfer('cancel');
  }

  private async endTransfer(action: 'complete' | 'cancel'): Promise<void> {
    const call = this._call;
    if (!call?.transfer || !this.socket) throw new AstralError('invalid_state', 'no transfer in progress');
    await request(this.socket, 'call:transfer-end', { callId: call.id, action }).catch((err: unknown) => this.failAndThrow(err));
  }
}

function unsupportedReport(): PreflightReport {
  return {
    callQuality: 'unsupported', mos: null, rtt: null, jitter: null, packetLoss: 0, packetsSent: 0, packetsReceived: 0,
    codec: null, iceCandidates: null, isTurnRequired: false, warnings: [], durationMs: 0,
  };
}
