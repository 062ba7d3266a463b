// Template pieces of <astral-phone>: header (status line), error banner, incoming panel, call panel and mic meter.
import { html, nothing, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { EndReason, PartyInfo, PhoneState } from '@astral/protocol';
import type { CallEndedDetail, CallInfo } from '../client/types.js';
import type { ErrorDetail } from './client-controller.js';
import { formatDuration } from './call-timer.js';
import { isStringKey } from './i18n/en.js';
import type { Localizer } from './i18n/locale-controller.js';

const STATE_TONES: Record<PhoneState, 'ok' | 'busy' | 'off'> = {
  disconnected: 'off',
  connecting: 'busy',
  ready: 'ok',
  incoming: 'busy',
  dialing: 'busy',
  ringing: 'busy',
  'in-call': 'ok',
  reconnecting: 'busy',
};

const micOffIcon = html`<svg width="12" height="12" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 10V5a3 3 0 0 0-5.9-.7M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 11 5.7M12 18v3M3 3l18 18"/></svg>`;

export function partyName(p: PartyInfo): string {
  return p.displayName || p.identity;
}

/** The state's label in the status line (and while a call is being set up). */
export function stateLabel(l: Localizer, state: PhoneState): string {
  return l.t(`state.${state}`);
}

/** Why the last call ended, with its talk time when answered. */
export function endedText(l: Localizer, ended: CallEndedDetail): string {
  const talk = ended.disposition === 'ANSWERED' ? ` \u00B7 ${formatDuration(ended.duration * 1000, l.locale)}` : '';
  const key = `ended.${ended.reason}`;
  return l.t(isStringKey(key) ? key : 'ended.hangup') + talk;
}

/** A second line for a party: its extension, or its identity when that differs from the name. */
export function partyDetail(l: Localizer, p: PartyInfo): string {
  if (p.extension) return l.t('party.extension', { extension: p.extension });
  return p.identity !== p.displayName ? p.identity : '';
}

/** The status line, a polite live region: the state, who is signed in and (unseen) why the last call ended. */
export function statusView(l: Localizer, state: PhoneState, user: PartyInfo | null, ended: CallEndedDetail | null): TemplateResult {
  const me = user ? [partyName(user), partyDetail(l, user)].filter(Boolean).join(' \u00B7 ') : '';
  return html`<div class="status" part="status" role="status" aria-live="polite">
    <span class="dot" data-tone=${STATE_TONES[state]} aria-hidden="true"></span>
    <span class="state">${stateLabel(l, state)}</span>
    ${ended ? html`<span class="visually-hidden">, ${endedText(l, ended)}</span>` : nothing}
    ${me ? html`<span class="me" title=${me}><span class="visually-hidden">${l.t('status.signedInAs')}</span>${me}</span>` : nothing}
  </div>`;
}

/**
 * The `header` slot in place of the status line: filled by the page, the status line stays for screen readers only
 * (it is the polite live region). The slot's slotchange re-renders the host.
 */
export function headerView(host: HTMLElement & { requestUpdate(): void }, status: TemplateResult): TemplateResult {
  const filled = host.querySelector(':scope > [slot="header"]') !== null;
  return html`<slot name="header" @slotchange=${() => host.requestUpdate()}></slot>${filled ? html`<div class="visually-hidden">${status}</div>` : status}`;
}

/** An assertive live region, always in the page so screen readers hear what is put in it: an incoming caller. */
export function announcerView(text: string): TemplateResult {
  return html`<div class="visually-hidden" aria-live="assertive" aria-atomic="true">${text}</div>`;
}

export function errorView(l: Localizer, error: ErrorDetail | null, onDismiss: () => void): TemplateResult | typeof nothing {
  if (!error) return nothing;
  const key = `error.${error.code}`;
  const title = l.t(isStringKey(key) ? key : 'error.title');
  return html`<div class="error" part="error" role="alert" data-code=${error.code}>
    <span class="message"><strong>${title}:</strong> ${error.message}</span>
    <button type="button" class="dismiss" part="dismiss-button" aria-label=${l.t('error.dismiss')} @click=${onDismiss}>${'\u00D7'}</button>
  </div>`;
}

export function incomingView(
  l: Localizer,
  from: PartyInfo,
  audible: boolean,
  onAccept: () => void,
  onDecline: () => void,
): TemplateResult {
  const name = partyName(from);
  return html`<div class="incoming" part="incoming" role="group" aria-label=${l.t('incoming.label')} data-ring=${audible ? 'audible' : 'visual'}>
    <div class="party">
      <span class="label">${l.t('incoming.label')}</span>
      <strong class="caller-name">${name}</strong>
      <span class="sub">${partyDetail(l, from)}</span>
    </div>
    <div class="row">
      <button type="button" class="accept-button" part="accept-button" aria-label=${l.t('incoming.acceptLabel', { name })} @click=${onAccept}>
        ${l.t('incoming.accept')}
      </button>
      <button type="button" class="decline-button" part="decline-button" aria-label=${l.t('incoming.declineLabel', { name })} @click=${onDecline}>
        ${l.t('incoming.decline')}
      </button>
    </div>
  </div>`;
}

export function callView(l: Localizer, state: PhoneState, call: CallInfo | null, tones: string, now: number): TemplateResult | typeof nothing {
  if (state === 'incoming' || (!call && state !== 'dialing' && state !== 'ringing' && state !== 'in-call')) return nothing;
  const remote = call?.remote;
  const answered = call?.answeredAt ?? null;
  const timer =
    state === 'in-call' || answered !== null
      ? html`<span class="timer" part="timer" role="timer" aria-label=${l.t('call.duration')}>${formatDuration(answered === null ? 0 : now - answered, l.locale)}</span>`
      : html`<span class="timer pending">${stateLabel(l, state)}</span>`;
  const other = remote ? partyName(remote) : l.t('party.other');
  const detail = remote ? partyDetail(l, remote) : '';
  return html`<div class="call" part="call">
    <div class="call-line">
      <div class="party">
        <span class="label">${l.t(call?.direction === 'incoming' ? 'call.from' : 'call.to')}</span>
        <strong class="remote-name">${remote ? partyName(remote) : ''}</strong>
        ${detail ? html`<span class="sub">${detail}</span>` : nothing}
      </div>
      ${timer}
    </div>
    ${call?.remoteHeld ? html`<span class="remote-held" part="remote-held" role="status">${l.t('call.remoteHeld', { name: other })}</span>` : nothing}
    ${call?.held ? html`<span class="remote-held" part="remote-held" role="status">${l.t('call.held')}</span>` : nothing}
    ${call?.recording
      ? html`<span class="recording" part="recording" role="status"
          ><span aria-hidden="true">${l.t('call.recording')}</span><span class="visually-hidden">${l.t('call.recordingLabel')}</span></span
        >`
      : nothing}
    ${call?.region ? html`<span class="region" part="region">${l.t('call.region', { region: call.region })}</span>` : nothing}
    ${call?.remoteMuted ? html`<span class="remote-muted" part="remote-muted" role="status">${micOffIcon} ${l.t('call.remoteMuted', { name: other })}</span>` : nothing}
    ${tones ? html`<span class="tones" part="tones" aria-live="polite">${l.t('call.tonesSent', { tones })}</span>` : nothing}
  </div>`;
}

export function meterView(l: Localizer, level: number, active: boolean, muted: boolean): TemplateResult {
  const pct = active && !muted ? Math.round(level * 100) : 0;
  return html`<div class="meter" ?data-muted=${muted} ?data-active=${active}>
    <span aria-hidden="true">${l.t('meter.mic')}</span>
    <div
      class="meter-track"
      part="meter"
      role="meter"
      aria-label=${l.t('meter.label')}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${pct}
      aria-valuetext=${active ? (muted ? l.t('meter.muted') : new Intl.NumberFormat(l.locale, { style: 'percent' }).format(pct / 100)) : l.t('meter.off')}
    >
      <div class="meter-bar" style=${styleMap({ width: `${pct}%` })}></div>
    </div>
  </div>`;
}

export function lastCallView(l: Localizer, ended: CallEndedDetail | null): TemplateResult | typeof nothing {
  if (!ended) return nothing;
  return html`<p class="last-call" part="last-call">${endedText(l, ended)}</p>`;
}
