// ClientCoreBase: the typed events, phone state and current call both engines' client cores (native and sip) share.
import type { Disposition, EndReason, PartyInfo, PhoneState } from '@astral/protocol';
import { QualityWatch } from './call-quality.js';
import type { AstralClientEvents, CallInfo, CallStats } from './types.js';

/** How a call ended, as far as the engine knows (a missing duration is counted from `answeredAt`). */
export interface CallEnd {
  disposition: Disposition;
  reason: EndReason;
  duration?: number;
}

export abstract class ClientCoreBase extends EventTarget {
  protected _state: PhoneState = 'disconnected';
  protected _user: PartyInfo | null = null;
  protected _call: CallInfo | null = null;
  /** The engine's error class (AstralError, SipError): what waitReady and requireState throw. */
  protected abstract readonly errorType: new (code: string, message: string) => Error;
  /** Call-quality warnings: samples the stats while a call is up (in-call, or reconnecting within it). */
  protected readonly quality = new QualityWatch(
    () => this.getStats(),
    () => this._call?.muted ?? false,
    (raised, warning) => this.emit(raised ? 'warning' : 'warning-cleared', warning),
  );

  abstract getStats(): Promise<CallStats>;

  get state(): PhoneState {
    return this._state;
  }
  get user(): PartyInfo | null {
    return this._user;
  }
  /** The current call, or null. */
  get activeCall(): CallInfo | null {
    return this._call;
  }

  /** Subscribes to a typed event; returns the unsubscribe function. */
  on<K extends keyof AstralClientEvents>(name: K, listener: (detail: AstralClientEvents[K]) => void): () => void {
    const handler = (e: Event) => listener((e as CustomEvent<AstralClientEvents[K]>).detail);
    this.addEventListener(name, handler);
    return () => this.removeEventListener(name, handler);
  }

  /** Resolves on the next `ready`; rejects (`unavailable`, with `closedMessage`) if the phone disconnects first. */
  protected waitReady(closedMessage: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const offReady = this.on('ready', () => (offReady(), offState(), resolve()));
      const offState = this.on('state', ({ state }) => {
        if (state === 'disconnected') {
          offReady();
          offState();
          reject(new this.errorType('unavailable', closedMessage));
        }
      });
    });
  }

  /** Returns `link` (the connection) when the phone is in `state`; throws `invalid_state` otherwise. */
  protected requireState<T>(state: PhoneState, link: T | null): T {
    if (this._state !== state || !link) throw new this.errorType('invalid_state', `the phone is ${this._state}, not ${state}`);
    return link;
  }

  /** Emits `call-ended` for `call`; without `end` it was cut off (`disconnected`). */
  protected emitCallEnded(call: CallInfo, end: CallEnd | null): void {
    this.emit('call-ended', {
      callId: call.id,
      disposition: end?.disposition ?? (call.answeredAt ? 'ANSWERED' : 'FAILED'),
      reason: end?.reason ?? 'disconnected',
      duration: end?.duration ?? (call.answeredAt ? Math.round((Date.now() - call.answeredAt) / 1000) : 0),
    });
  }

  protected setCall(call: CallInfo | null): void {
    this._call = call;
    this.emit('call', { call });
  }

  protected setState(state: PhoneState): void {
    if (this._state === state) return;
    this._state = state;
    if (state === 'in-call') this.quality.start();
    else if (state !== 'reconnecting') this.quality.stop();
    this.emit('state', { state });
  }

  /** Reports `err` as an `error` event: its string `code` (else `internal`) and message. */
  protected fail(err: unknown): void {
    const e = err as { code?: unknown; message?: unknown } | null;
    this.emit('error', { code: typeof e?.code === 'string' ? e.code : 'internal', message: typeof e?.message === 'string' ? e.message : String(err) });
  }

  /** Reports `err` (as fail does) and throws it on. */
  protected failAndThrow(err: unknown): never {
    this.fail(err);
    throw err;
  }

  protected emit<K extends keyof AstralClientEvents>(name: K, detail: AstralClientEvents[K]): void {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
