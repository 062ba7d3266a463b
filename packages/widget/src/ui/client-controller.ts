// ClientController: holds the phone's view state from an AstralClient's events and re-dispatches them as astral-* events.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { PartyInfo, PhoneState } from '@astral/protocol';
import type { DeviceManager } from '../client/devices.js';
import type { AstralClientEvents, CallEndedDetail, CallInfo, CallStats, PreflightOptions, PreflightReport } from '../client/types.js';

/**
 * What <astral-phone> needs from a client: the AstralClient API (`activeCall` optional: the controller
 * follows `call` events). Tests hand the element an EventTarget stand-in of this shape.
 */
export interface PhoneClient extends EventTarget {
  readonly state: PhoneState;
  readonly user: PartyInfo | null;
  readonly localStream: MediaStream | null;
  readonly remoteStream: MediaStream | null;
  /** The current call, when the client exposes it (AstralClient does). */
  readonly activeCall?: CallInfo | null;
  /** Microphone and speaker choice (both engines have it). */
  readonly devices?: DeviceManager;
  connect(): Promise<void>;
  disconnect(): void;
  call(destination: string): Promise<string>;
  /** Channel calls; optional so simple stand-ins need not implement them. */
  joinChannel?(channelId: string): Promise<string>;
  setDoNotDisturb?(dnd: boolean): void;
  setHeld?(held: boolean): void;
  transfer?(destination: string, type: 'blind' | 'attended'): Promise<void>;
  completeTransfer?(): Promise<void>;
  cancelTransfer?(): Promise<void>;
  answer(): Promise<void>;
  decline(): Promise<void>;
  hangup(): Promise<void>;
  setMuted(muted: boolean): void;
  sendDtmf(digits: string): void;
  getStats(): Promise<CallStats>;
  /** The connection test (AstralClient has it; the sip engine does not). */
  preflight?(options?: PreflightOptions): Promise<PreflightReport>;
}

export interface ErrorDetail {
  code: string;
  message: string;
}

type ClientEventName = keyof AstralClientEvents;

/** Client event → the bubbling, composed event the host re-dispatches (as the public API documents). */
const REDISPATCH: Record<ClientEventName, string> = {
  ready: 'astral-ready',
  state: 'astral-state',
  incoming: 'astral-incoming',
  call: 'astral-call',
  'call-ended': 'astral-call-ended',
  dtmf: 'astral-dtmf',
  transfer: 'astral-transfer',
  error: 'astral-error',
  draining: 'astral-draining',
  media: 'astral-media',
  warning: 'astral-warning',
  'warning-cleared': 'astral-warning-cleared',
  'preflight-progress': 'astral-preflight-progress',
  devicechange: 'astral-devicechange',
  deviceChanged: 'astral-device-changed',
};

/** Events whose default the page may prevent: the built-in incoming panel and ringtone, the last call's summary. */
const CANCELABLE: ReadonlySet<ClientEventName> = new Set(['incoming', 'call-ended']);

/** Turns anything a client method threw into `{code, message}`. */
export function toErrorDetail(err: unknown): ErrorDetail {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    return { code: typeof e.code === 'string' ? e.code : 'internal', message };
  }
  return { code: 'internal', message: String(err) };
}

export class ClientController implements ReactiveController {
  client: PhoneClient | null = null;
  state: PhoneState = 'disconnected';
  user: PartyInfo | null = null;
  /** The current call snapshot, from the client's `call` events. */
  call: CallInfo | null = null;
  /** The caller while an incoming call rings. */
  incoming: AstralClientEvents['incoming'] | null = null;
  /** The last call's end, shown until the next call starts. */
  lastEnded: CallEndedDetail | null = null;
  /** The error on display, until dismissed or the session becomes ready again. */
  error: ErrorDetail | null = null;
  /** The page called preventDefault() on `astral-incoming`: it shows its own ringing UI (the call still rings). */
  incomingTakenOver = false;
  private subscribed: PhoneClient | null = null;

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this);
  }

  /** Switches to `client` (or none), taking a snapshot of its current state. */
  setClient(client: PhoneClient | null): void {
    if (client === this.client) return;
    this.unsubscribe();
    this.client = client;
    this.state = client?.state ?? 'disconnected';
    this.user = client?.user ?? null;
    this.call = client?.activeCall ?? null;
    this.incoming = null;
    if (this.host.isConnected) this.subscribe();
    this.host.requestUpdate();
  }

  /** Shows an error that did not come from a client event (e.g. a rejected method call). */
  showError(err: unknown): void {
    this.error = toErrorDetail(err);
    this.host.requestUpdate();
  }

  dismissError(): void {
    this.error = null;
    this.host.requestUpdate();
  }

  hostConnected(): void {
    this.subscribe();
  }

  hostDisconnected(): void {
    this.unsubscribe();
  }

  private subscribe(): void {
    if (!this.client || this.subscribed === this.client) return;
    this.unsubscribe();
    for (const name of Object.keys(REDISPATCH)) this.client.addEventListener(name, this.onEvent);
    this.subscribed = this.client;
    // events may have fired while unsubscribed
    this.state = this.client.state;
    this.user = this.client.user ?? this.user;
  }

  private unsubscribe(): void {
    if (!this.subscribed) return;
    for (const name of Object.keys(REDISPATCH)) this.subscribed.removeEventListener(name, this.onEvent);
    this.subscribed = null;
  }

  private readonly onEvent = (event: Event): void => {
    const name = event.type as ClientEventName;
    const detail = (event as CustomEvent).detail as AstralClientEvents[ClientEventName];
    this.apply(name, detail);
    this.host.requestUpdate();
    const outName = REDISPATCH[name];
    if (!outName) return;
    const cancelable = CANCELABLE.has(name);
    const proceed = this.host.dispatchEvent(new CustomEvent(outName, { detail, bubbles: true, composed: true, cancelable }));
    if (proceed || !cancelable) return;
    if (name === 'incoming') this.incomingTakenOver = true;
    else this.lastEnded = null;
  };

  private apply(name: ClientEventName, detail: AstralClientEvents[ClientEventName]): void {
    switch (name) {
      case 'ready':
        this.user = (detail as AstralClientEvents['ready']).user;
        this.error = null;
        break;
      case 'state': {
        this.state = (detail as AstralClientEvents['state']).state;
        if (this.state !== 'incoming') {
          this.incoming = null;
          this.incomingTakenOver = false;
        }
        if (this.state === 'dialing' || this.state === 'incoming') this.lastEnded = null;
        break;
      }
      case 'incoming':
        this.incoming = detail as AstralClientEvents['incoming'];
        this.incomingTakenOver = false;
        this.lastEnded = null;
        break;
      case 'call':
        this.call = (detail as AstralClientEvents['call']).call;
        break;
      case 'call-ended':
        this.lastEnded = detail as CallEndedDetail;
        this.incoming = null;
        break;
      case 'error':
        this.error = detail as ErrorDetail;
        break;
      case 'dtmf':
      case 'transfer':
      case 'draining':
        break;
    }
  }
}

type AstralEvent<K extends ClientEventName> = CustomEvent<AstralClientEvents[K]>;

declare global {
  /** The events <astral-phone> dispatches (bubbling, composed). */
  interface HTMLElementEventMap {
    'astral-ready': AstralEvent<'ready'>;
    'astral-state': AstralEvent<'state'>;
    'astral-incoming': AstralEvent<'incoming'>;
    'astral-call': AstralEvent<'call'>;
    'astral-call-ended': AstralEvent<'call-ended'>;
    'astral-dtmf': AstralEvent<'dtmf'>;
    'astral-transfer': AstralEvent<'transfer'>;
    'astral-error': AstralEvent<'error'>;
    'astral-draining': AstralEvent<'draining'>;
    'astral-media': AstralEvent<'media'>;
    'astral-warning': AstralEvent<'warning'>;
    'astral-warning-cleared': AstralEvent<'warning-cleared'>;
    'astral-preflight-progress': AstralEvent<'preflight-progress'>;
    'astral-devicechange': AstralEvent<'devicechange'>;
    'astral-device-changed': AstralEvent<'deviceChanged'>;
  }
}
