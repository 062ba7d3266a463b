// IceRecovery: watches one WebRTC transport and, when its media path fails with signalling still up, restarts ICE with backoff.

/** What IceRecovery needs of a mediasoup-client transport. */
export interface WatchedTransport {
  readonly id: string;
  readonly closed: boolean;
  readonly connectionState: string;
  on(event: 'connectionstatechange', listener: (state: string) => void): unknown;
  restartIce(options: { iceParameters: unknown }): Promise<void>;
}

export interface IceRecoveryHandlers {
  /** The server's fresh ICE parameters for the transport (`media:restartIce`). */
  iceParameters(transportId: string): Promise<unknown>;
  /** The media path was lost (failed, or disconnected longer than the grace): recovery starts. */
  lost(): void;
  /** Connected again after a loss. */
  recovered(): void;
}

export interface IceRecoveryTiming {
  /** How long `disconnected` may last before it counts as lost (Chromium often recovers a blip by itself). */
  disconnectedGraceMs: number;
  /** The first wait between restarts; doubled after each, up to `maxRetryMs`. */
  firstRetryMs: number;
  maxRetryMs: number;
}

/** Restarts 0.5, 1, 2, 2, … s apart: once the network is back, the next restart comes within 2 s. */
export const ICE_RECOVERY_TIMING: IceRecoveryTiming = { disconnectedGraceMs: 1000, firstRetryMs: 500, maxRetryMs: 2000 };

export class IceRecovery {
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs: number;
  /** Lost and not yet connected again. */
  private recovering = false;
  /** Restarts run only while a call uses the transport; a loss while idle is recovered when the next call starts. */
  private active = false;
  private stopped = false;

  constructor(
    private readonly transport: WatchedTransport,
    private readonly handlers: IceRecoveryHandlers,
    private readonly timing: IceRecoveryTiming = ICE_RECOVERY_TIMING,
  ) {
    this.retryMs = timing.firstRetryMs;
    transport.on('connectionstatechange', (state) => this.onState(state));
  }

  /** Whether the transport is lost and being recovered. */
  get lost(): boolean {
    return this.recovering;
  }

  /** A call starts using (true) or stops using (false) the transport. */
  setActive(active: boolean): void {
    if (this.stopped || this.active === active) return;
    this.active = active;
    if (!active) return this.clearRetry();
    const state = this.transport.connectionState;
    if (this.recovering) this.restart();
    else if (state === 'failed' || state === 'disconnected') this.startRecovery();
  }

  /** Stops for good (the transport closes, or the phone disconnects). */
  stop(): void {
    this.stopped = true;
    this.clearGrace();
    this.clearRetry();
  }

  private onState(state: string): void {
    if (this.stopped) return;
    if (state === 'connected') {
      this.clearGrace();
      this.clearRetry();
      this.retryMs = this.timing.firstRetryMs;
      if (this.recovering) {
        this.recovering = false;
        this.handlers.recovered();
      }
    } else if (state === 'failed') {
      this.clearGrace();
      this.startRecovery();
    } else if (state === 'disconnected') {
      if (!this.graceTimer && !this.recovering) this.graceTimer = setTimeout(() => ((this.graceTimer = null), this.startRecovery()), this.timing.disconnectedGraceMs);
    } else if (state === 'closed') {
      this.stop();
    }
  }

  private startRecovery(): void {
    if (this.stopped || this.recovering) return;
    this.recovering = true;
    this.handlers.lost();
    if (this.active) this.restart();
  }

  /** One ICE restart now, and the next after the backoff unless connected by then. */
  private restart(): void {
    this.clearRetry();
    if (this.stopped || !this.active || this.transport.closed) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.timing.maxRetryMs);
    this.retryTimer = setTimeout(() => this.restart(), wait);
    this.handlers
      .iceParameters(this.transport.id)
      .then((iceParameters) => (this.stopped || this.transport.closed ? undefined : this.transport.restartIce({ iceParameters })))
      .catch(() => undefined); // the server or the network is not there yet: the next attempt follows
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
