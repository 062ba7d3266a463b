// <astral-phone>: the softphone element — owns an AstralClient, renders ClientController's state, delegates actions.
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import type { PhoneState } from '@astral/protocol';
import { AstralClient } from '../client/astral-client.js';
import type { AudioProcessing, DeviceManager, OutputTarget } from '../client/devices.js';
import { createSipClient, type SipClientOptions } from '../client/sip-engine.js';
import type { AstralClientOptions, CallStats, PreflightOptions, PreflightReport } from '../client/types.js';
import { ClientController, type PhoneClient } from './client-controller.js';
import { TickController } from './call-timer.js';
import { LevelMeterController } from './level-meter.js';
import { RingtoneController } from './ringtone.js';
import { DeviceMenuController, deviceMenuStyles } from './device-menu.js';
import { transferView } from './transfer-view.js';
import { isDialKey, type DialKeyDetail } from './dial-pad.js';
import { phoneStyles } from './styles.js';
import { preflightView, QualityController, qualityStyles, warningView } from './quality-view.js';
import { LocaleController } from './i18n/locale-controller.js';
import type { StringOverrides } from './i18n/en.js';
import { announcerView, callView, errorView, headerView, incomingView, lastCallView, meterView, partyName, statusView } from './views.js';
import './dial-pad.js';

const CALL_STATES: ReadonlySet<PhoneState> = new Set(['dialing', 'ringing', 'in-call']);
const PROCESSING = ['echoCancellation', 'noiseSuppression', 'autoGainControl'] as const;
/** An audio processing attribute: absent leaves the default (on); `"false"` or `"off"` turns it off. */
const onOff = { fromAttribute: (v: string | null) => (v === null ? undefined : v !== 'false' && v !== 'off') };

function invalidState(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'invalid_state' });
}

/**
 * A softphone. Set `server` plus `token` (or `token-url`) and it connects by itself; it re-creates its
 * client when those change and disconnects when removed from the page.
 *
 * @fires astral-ready / astral-state / astral-incoming / astral-call / astral-call-ended / astral-dtmf / astral-transfer / astral-draining / astral-media /
 *   astral-warning / astral-warning-cleared / astral-preflight-progress / astral-devicechange / astral-device-changed / astral-error
 *   — the client's events, re-dispatched as bubbling, composed CustomEvents (same `detail`); preventDefault() on
 *   astral-incoming leaves the ringing UI to the page, on astral-call-ended the last call's summary.
 * @slot header — in place of the status line, which then stays for screen readers only
 * @slot idle — while there is no call, in place of the last call's summary
 * @slot in-call — during a call, in place of the call panel
 * @csspart status, error, dismiss-button, incoming, accept-button, decline-button, call, timer, remote-held, recording, region, remote-muted, tones,
 *   input, backspace-button, dialpad, key, mute-button, hold-button, call-button, hangup-button, transfer, transfer-input, transfer-button,
 *   consult-button, transfer-complete-button, transfer-cancel-button, quality-warning, preflight-button, preflight-result, devices-button, devices,
 *   input-select, output-select, ringtone-select, meter, last-call
 * @cssprop --astral-accent, --astral-bg, --astral-fg, --astral-danger, --astral-on-accent, --astral-radius, --astral-font
 */
export class AstralPhone extends LitElement {
  static override styles = [phoneStyles, qualityStyles, deviceMenuStyles];
  static override properties = {
    server: { reflect: true },
    token: {},
    tokenUrl: { attribute: 'token-url', reflect: true },
    engine: { reflect: true },
    sipServer: { attribute: 'sip-server' },
    sipUri: { attribute: 'sip-uri' },
    sipPassword: { attribute: 'sip-password' },
    sipAuthorizationUser: { attribute: 'sip-authorization-user' },
    sipDisplayName: { attribute: 'sip-display-name' },
    echoCancellation: { attribute: 'echo-cancellation', converter: onOff },
    noiseSuppression: { attribute: 'noise-suppression', converter: onOff },
    autoGainControl: { attribute: 'auto-gain-control', converter: onOff },
    strings: { attribute: false },
    destination: { state: true },
    transferTo: { state: true },
    tones: { state: true },
  };

  /** Base URL of the Astral server. */
  declare server: string | undefined;
  /** A widget token minted by the site's backend. */
  declare token: string | undefined;
  /** Or a URL answering `{token, expires_at}`. */
  declare tokenUrl: string | undefined;
  /** `sip`: register with any SIP-over-WebSocket PBX through sip.js (loaded on demand) instead of an Astral server. */
  declare engine: string | undefined;
  /** engine="sip": the PBX's WebSocket URL, the SIP URI and credentials (or `token-url` answering `{"sip": {...}}`). */
  declare sipServer: string | undefined;
  declare sipUri: string | undefined;
  declare sipPassword: string | undefined;
  declare sipAuthorizationUser: string | undefined;
  declare sipDisplayName: string | undefined;
  /** Microphone processing switches (`echo-cancellation="false"` etc.); each on unless turned off; applied live. */
  declare echoCancellation: boolean | undefined;
  declare noiseSuppression: boolean | undefined;
  declare autoGainControl: boolean | undefined;
  /** Replacements for any of the catalogue's strings (i18n/en.ts lists the keys); the language comes from `lang`. */
  declare strings: StringOverrides | undefined;
  declare private destination: string;
  declare private transferTo: string;
  declare private tones: string;

  private readonly ctl = new ClientController(this);
  private readonly l10n = new LocaleController(this);
  private readonly quality = new QualityController(this);
  // A do-not-disturb ring is visual only; a page that took over the incoming UI plays its own.
  private readonly ring = new RingtoneController(
    this,
    () => (this.ctl.state === 'incoming' && (this.ctl.incoming?.silent || this.ctl.incomingTakenOver) ? 'ready' : this.ctl.state),
    () => this.devices?.ringtoneOutputId ?? '',
  );
  private readonly deviceMenu = new DeviceMenuController(this, () => this.devices);
  private readonly meter = new LevelMeterController(this, () => (this.ctl.call || this.ctl.state === 'in-call' ? (this.ctl.client?.localStream ?? null) : null));
  private readonly ticker = new TickController(this, () => this.ctl.state === 'in-call' || this.ctl.call?.answeredAt != null);
  private manual = false;
  private owned = false;
  private clientKey = '';
  private stale = true;
  private focusAfterAccept = false;
  private connecting: Promise<void> | null = null;

  constructor() {
    super();
    this.destination = '';
    this.transferTo = '';
    this.tones = '';
  }

  /** The phone state, mirrored from the client (also reflected as the `state` attribute). */
  get state(): PhoneState {
    return this.ctl.state;
  }

  /** The client's device manager (microphone and speaker lists and choice), once there is a client. */
  get devices(): DeviceManager | null {
    return this.ctl.client?.devices ?? null;
  }

  /** Uses microphone `deviceId` (`''`: default); during a call it is swapped in without renegotiating. Remembered for this site. */
  setInputDevice(deviceId: string): Promise<void> {
    return this.devices ? this.devices.setInputDevice(deviceId) : Promise.reject(invalidState('not connected'));
  }

  /** Plays the call's audio (`target` `call`) or the ringtone on output `deviceId` (`''`: default). Remembered for this site. */
  setOutputDevice(deviceId: string, target: OutputTarget = 'call'): Promise<void> {
    return this.devices ? this.devices.setOutputDevice(deviceId, target) : Promise.reject(invalidState('not connected'));
  }

  /** The client in use: the one the element created, or the one given to attachClient(). */
  get client(): PhoneClient | null {
    return this.ctl.client;
  }

  /**
   * Uses `client` instead of creating one from `server`/`token`: the caller then owns its connection.
   * Any EventTarget with the AstralClient API works, which is how tests inject a stand-in.
   * `attachClient(null)` returns to creating clients from the attributes.
   */
  attachClient(client: PhoneClient | null): void {
    this.dropOwnedClient();
    this.manual = client !== null;
    this.ctl.setClient(client);
    this.stale = true;
    this.requestUpdate();
  }

  /** Connects (creating the client first if needed). */
  connect(): Promise<void> {
    if (!this.client) this.syncClient();
    if (this.connecting) return this.connecting;
    if (!this.client) return Promise.reject(invalidState('set server and token (or token-url) first'));
    return this.client.connect();
  }

  disconnect(): void {
    this.client?.disconnect();
  }

  /** Dials `destination` (an identity or extension); resolves with the call id. */
  call(destination: string): Promise<string> {
    if (!this.client) return Promise.reject(invalidState('not connected'));
    this.tones = '';
    return this.client.call(destination);
  }

  /** Joins a channel's call (starting it when none runs); resolves with the call id. */
  joinChannel(channelId: string): Promise<string> {
    if (!this.client?.joinChannel) return Promise.reject(invalidState('not connected'));
    this.tones = '';
    return this.client.joinChannel(channelId);
  }

  /** Do-not-disturb: calls still ring, silently. */
  setDoNotDisturb(dnd: boolean): void {
    this.client?.setDoNotDisturb?.(dnd);
  }

  answer(): Promise<void> {
    return this.client ? this.client.answer() : Promise.reject(invalidState('not connected'));
  }

  decline(): Promise<void> {
    return this.client ? this.client.decline() : Promise.reject(invalidState('not connected'));
  }

  hangup(): Promise<void> {
    return this.client ? this.client.hangup() : Promise.reject(invalidState('not connected'));
  }

  /** Transfers the other party: `blind` at once, or `attended` after consulting the target. */
  transfer(destination: string, type: 'blind' | 'attended' = 'blind'): Promise<void> {
    return this.client?.transfer ? this.client.transfer(destination, type) : Promise.reject(invalidState('not connected'));
  }

  completeTransfer(): Promise<void> {
    return this.client?.completeTransfer ? this.client.completeTransfer() : Promise.reject(invalidState('not connected'));
  }

  cancelTransfer(): Promise<void> {
    return this.client?.cancelTransfer ? this.client.cancelTransfer() : Promise.reject(invalidState('not connected'));
  }

  /** Puts the call on hold (or resumes it): nothing is sent or heard until resumed. */
  setHeld(held: boolean): void {
    this.client?.setHeld?.(held);
  }

  setMuted(muted: boolean): void {
    this.client?.setMuted(muted);
  }

  sendDtmf(digits: string): void {
    this.client?.sendDtmf(digits);
  }

  /** A short test call through the server (see AstralClient.preflight): RTT, jitter, loss, MOS and a verdict. */
  preflight(options?: PreflightOptions): Promise<PreflightReport> {
    return this.client?.preflight ? this.client.preflight(options) : Promise.reject(invalidState('this engine has no preflight test'));
  }

  getStats(): Promise<CallStats> {
    return this.client ? this.client.getStats() : Promise.reject(invalidState('not connected'));
  }

  /** Creates the client; override to customise (the element connects it right after). */
  protected createClient(options: AstralClientOptions): PhoneClient {
    return new AstralClient(options);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.stale = true;
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.dropOwnedClient(); // the ringtone and meter controllers stop themselves
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('strings')) this.l10n.setOverrides(this.strings);
    if (this.stale || ['server', 'token', 'tokenUrl', 'engine', 'sipServer', 'sipUri', 'sipPassword', 'sipAuthorizationUser', 'sipDisplayName'].some((k) => changed.has(k as keyof AstralPhone))) this.syncClient();
    // A removed attribute turns its switch back on.
    if (PROCESSING.some((k) => changed.has(k))) this.devices?.setProcessing(Object.fromEntries(PROCESSING.map((k) => [k, this[k] ?? true]))).catch((err: unknown) => this.ctl.showError(err));
  }

  protected override updated(): void {
    if (this.getAttribute('state') !== this.state) this.setAttribute('state', this.state);
    if (this.focusAfterAccept && this.state === 'in-call') {
      this.focusAfterAccept = false;
      this.byPart('hangup-button')?.focus();
    }
  }

  protected override render() {
    const { state, user, call, incoming, error, lastEnded } = this.ctl;
    const l = this.l10n;
    const inCall = state === 'in-call';
    const active = CALL_STATES.has(state) || (state === 'reconnecting' && call !== null);
    // preventDefault() on astral-incoming: the page rings its own way (and announces it).
    const caller = state === 'incoming' && !this.ctl.incomingTakenOver ? (incoming?.from ?? call?.remote ?? null) : null;
    const muted = call?.muted ?? false;
    const held = call?.held ?? false;
    const stream = this.client?.localStream ?? null;
    const padLocked = state === 'incoming' || state === 'dialing' || state === 'ringing';
    const ended = active ? null : lastEnded;
    // a group, not a landmark: a page may hold several phones; it is named after who is signed in
    return html`<div class="phone" role="group" aria-label=${user ? l.t('phone.labelFor', { name: partyName(user) }) : l.t('phone.label')}>
      ${headerView(this, statusView(l, state, user, ended))} ${announcerView(caller ? l.t('incoming.announce', { name: partyName(caller) }) : '')}
      ${errorView(l, error, () => this.ctl.dismissError())}
      ${caller ? incomingView(l, caller, this.ring.ringtone.audible, this.onAccept, this.onDecline) : null}
      ${active ? html`<slot name="in-call">${callView(l, state, call, this.tones, Date.now())}</slot>` : nothing}
      ${!active && state !== 'incoming' ? html`<slot name="idle">${lastCallView(l, ended)}</slot>` : nothing}
      <div class="dest">
        <input
          part="input"
          type="tel"
          inputmode="tel"
          autocomplete="off"
          aria-label=${l.t('dest.label')}
          placeholder=${l.t('dest.placeholder')}
          .value=${this.destination}
          ?disabled=${active || state === 'incoming'}
          @input=${(e: Event) => (this.destination = (e.target as HTMLInputElement).value)}
          @keydown=${this.onInputKeydown}
        />
        <button
          type="button"
          part="backspace-button"
          aria-label=${l.t('dest.backspace')}
          ?disabled=${active || !this.destination}
          @click=${() => (this.destination = this.destination.slice(0, -1))}
        >${'\u232B'}</button>
      </div>
      <astral-dial-pad
        part="dialpad"
        exportparts="key"
        .label=${l.t(inCall ? 'dialpad.tonesLabel' : 'dialpad.label')}
        ?disabled=${padLocked}
        @astral-key=${this.onKey}
      ></astral-dial-pad>
      <div class="row controls">
        <button type="button" class="mute-button" part="mute-button" aria-label=${l.t('controls.muteLabel')} aria-pressed=${muted ? 'true' : 'false'} ?disabled=${!inCall} @click=${() => this.setMuted(!muted)}>
          ${l.t('controls.mute')}
        </button>
        <button type="button" class="hold-button" part="hold-button" aria-label=${l.t('controls.hold')} aria-pressed=${held ? 'true' : 'false'} ?disabled=${!inCall} @click=${() => this.setHeld(!held)}>
          ${l.t('controls.hold')}
        </button>
        <button type="button" class="call-button" part="call-button" aria-label=${l.t('controls.call')} ?disabled=${state !== 'ready' || !this.destination.trim()} @click=${this.dial}>
          ${l.t('controls.call')}
        </button>
        <button type="button" class="hangup-button" part="hangup-button" aria-label=${l.t('controls.hangup')} ?disabled=${!active} @click=${this.onHangup}>
          ${l.t('controls.hangup')}
        </button>
      </div>
      ${transferView(l, call, inCall, {
        destination: this.transferTo,
        setDestination: (v) => (this.transferTo = v),
        transfer: (type) => this.run(() => this.transfer(this.transferTo.trim(), type).then(() => (this.transferTo = ''))),
        complete: () => this.run(() => this.completeTransfer()),
        cancel: () => this.run(() => this.cancelTransfer()),
      })}
      ${warningView(l, this.quality, active)} ${preflightView(l, this.quality, state === 'ready' && !!this.client?.preflight, () => this.quality.run(() => this.preflight()))}
      ${this.deviceMenu.view(l, { input: (id) => this.run(() => this.setInputDevice(id)), output: (id, target) => this.run(() => this.setOutputDevice(id, target)) })}
      ${meterView(l, this.meter.level, stream !== null && active, muted)}
    </div>`;
  }

  private byPart(name: string): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(`[part~="${name}"]`);
  }

  /** Runs a client action, showing a failure in the error banner instead of losing it. */
  private run(action: () => Promise<unknown>): void {
    action().catch((err: unknown) => this.ctl.showError(err));
  }

  private readonly dial = (): void => {
    const dest = this.destination.trim();
    if (!dest || this.state !== 'ready') return;
    this.run(() => this.call(dest));
  };

  private readonly onAccept = (): void => {
    this.focusAfterAccept = true;
    this.run(() => this.answer());
  };

  private readonly onDecline = (): void => this.run(() => this.decline());
  private readonly onHangup = (): void => this.run(() => this.hangup());

  private readonly onInputKeydown = (e: KeyboardEvent): void => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    this.dial();
  };

  private readonly onKey = (e: CustomEvent<DialKeyDetail>): void => {
    const { key } = e.detail;
    if (!isDialKey(key)) return;
    if (this.state === 'in-call') {
      this.sendDtmf(key);
      this.tones = (this.tones + key).slice(-16);
    } else {
      this.destination += key;
    }
  };

  /** Creates, replaces or drops the owned client to match server/token/tokenUrl. */
  private syncClient(): void {
    this.stale = false;
    if (this.manual || !this.isConnected) return;
    if (this.engine === 'sip') return this.syncSipClient();
    const options: AstralClientOptions = { server: this.server ?? '', token: this.token || undefined, tokenUrl: this.tokenUrl || undefined };
    const key = JSON.stringify(options);
    if (key === this.clientKey && this.client) return;
    const audioProcessing = this.audioProcessing(); // switched live, so not part of the key
    if (audioProcessing) options.audioProcessing = audioProcessing;
    this.dropOwnedClient();
    if (!options.server || !(options.token || options.tokenUrl)) return;
    let client: PhoneClient;
    try {
      client = this.createClient(options);
    } catch (err) {
      this.ctl.showError(err);
      return;
    }
    this.useClient(client, key);
  }

  /** engine="sip": loads the sip.js engine, then connects a SipClient for the sip-* attributes (or token-url). */
  private syncSipClient(): void {
    const s = (v: string | undefined) => v || undefined;
    const account = this.sipServer && this.sipUri
      ? { server: this.sipServer, uri: this.sipUri, password: s(this.sipPassword), authorization_user: s(this.sipAuthorizationUser), display_name: s(this.sipDisplayName) }
      : undefined;
    const options: SipClientOptions = { account, tokenUrl: account ? undefined : s(this.tokenUrl) };
    const key = `sip:${JSON.stringify(options)}`;
    const audioProcessing = this.audioProcessing();
    if (audioProcessing) options.audioProcessing = audioProcessing;
    if (key === this.clientKey && (this.client || this.connecting)) return;
    this.dropOwnedClient();
    if (!options.account && !options.tokenUrl) return;
    this.clientKey = key;
    this.owned = true;
    const loading = createSipClient(options).then((client) => {
      if (this.clientKey !== key || !this.isConnected) return client.disconnect();
      this.connecting = null;
      this.useClient(client, key);
      return this.connecting ?? undefined;
    });
    this.connecting = loading;
    loading.catch((err: unknown) => this.clientKey === key && this.ctl.showError(err));
  }

  private useClient(client: PhoneClient, key: string): void {
    this.owned = true;
    this.clientKey = key;
    this.ctl.setClient(client);
    this.ctl.dismissError();
    const connecting = client.connect();
    this.connecting = connecting;
    connecting
      .catch((err: unknown) => {
        // the client usually emitted a more precise 'error' already (e.g. token rejected)
        if (this.client === client && !this.ctl.error) this.ctl.showError(err);
      })
      .finally(() => {
        if (this.connecting === connecting) this.connecting = null;
      });
  }

  /** The processing switches the attributes set (the others keep their default), or undefined when none is. */
  private audioProcessing(): AudioProcessing | undefined {
    const set = PROCESSING.filter((k) => this[k] !== undefined);
    return set.length ? Object.fromEntries(set.map((k) => [k, this[k]])) : undefined;
  }

  private dropOwnedClient(): void {
    if (!this.owned) return;
    const client = this.client;
    this.owned = false;
    this.clientKey = '';
    this.connecting = null;
    this.ctl.setClient(null);
    client?.disconnect();
  }
}

if (!customElements.get('astral-phone')) customElements.define('astral-phone', AstralPhone);

declare global {
  interface HTMLElementTagNameMap {
    'astral-phone': AstralPhone;
  }
}
