// Template pieces of <astral-phone>: status line, error banner, incoming panel, call panel and mic meter.
import { html, nothing, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { EndReason, PartyInfo, PhoneState } from '@astral/protocol';
import type { CallEndedDetail, CallInfo } from '../client/types.js';
import type { ErrorDetail } from './client-controller.js';
import { formatDuration } from './call-timer.js';

export const STATE_LABELS: Record<PhoneState, string> = {
  disconnected: 'Offline',
  connecting: 'Connecting\u2026',
  ready: 'Ready',
  incoming: 'Incoming call',
  dialing: 'Calling\u2026',
  ringing: 'Ringing\u2026',
  'in-call': 'In call',
  reconnecting: 'Reconnecting\u2026',
};

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

const END_REASONS: Record<EndReason, string> = {
  hangup: 'Call ended',
  declined: 'Call declined',
  busy: 'Busy',
  cancelled: 'Call cancelled',
  timeout: 'No answer',
  unavailable: 'Unavailable',
  answered_elsewhere: 'Answered elsewhere',
  transferred: 'Call transferred',
  transfer_failed: 'Transfer failed',
  disconnected: 'Connection lost',
  media_failed: 'Audio could not be connected',
  server_shutdown: 'Call ended: the server shut down',
  server_restart: 'Server restarted',
};

const ERROR_TITLES: Record<string, string> = {
  unauthorized: 'Sign-in failed',
  token_expired: 'Session expired',
  revoked: 'Access revoked',
  forbidden: 'Not allowed',
  unavailable: 'Server unavailable',
  media_error: 'Audio problem',
  not_found: 'Not found',
  rate_limited: 'Too many attempts',
};

const micOffIcon = html`<svg width="12" height="12" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 10V5a3 3 0 0 0-5.9-.7M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 11 5.7M12 18v3M3 3l18 18"/></svg>`;

export function partyName(p: PartyInfo): string {
  return p.displayName || p.identity;
}

/** A second line for a party: its extension, or its identity when that differs from the name. */
export function partyDetail(p: PartyInfo): string {
  if (p.extension) return `ext. ${p.extension}`;
  return p.identity !== p.displayName ? p.identity : '';
}

export function statusView(state: PhoneState, user: PartyInfo | null): TemplateResult {
  const me = user ? [partyName(user), partyDetail(user)].filter(Boolean).join(' \u00B7 ') : '';
  return html`<div class="status" part="status" role="status" aria-live="polite">
    <span class="dot" data-tone=${STATE_TONES[state]} aria-hidden="true"></span>
    <span class="state">${STATE_LABELS[state]}</span>
    ${me ? html`<span class="me" title=${me}><span class="visually-hidden">, signed in as </span>${me}</span>` : nothing}
  </div>`;
}

export function errorView(error: ErrorDetail | null, onDismiss: () => void): TemplateResult | typeof nothing {
  if (!error) return nothing;
  const title = ERROR_TITLES[error.code] ?? 'Error';
  return html`<div class="error" part="error" role="alert" data-code=${error.code}>
    <span class="message"><strong>${title}:</strong> ${error.message}</span>
    <button type="button" class="dismiss" part="dismiss-button" aria-label="Dismiss error" @click=${onDismiss}>${'\u00D7'}</button>
  </div>`;
}

export function incomingView(
  from: PartyInfo,
  audible: boolean,
  onAccept: () => void,
  onDecline: () => void,
): TemplateResult {
  const name = partyName(from);
  return html`<div class="incoming" part="incoming" role="group" aria-label="Incoming call" data-ring=${audible ? 'audible' : 'visual'}>
    <div class="party">
      <span class="label">Incoming call</span>
      <strong class="caller-name">${name}</strong>
      <span class="sub">${partyDetail(from)}</span>
    </div>
    <div class="row">
      <button type="button" class="accept-button" part="accept-button" aria-label=${`Accept call from ${name}`} @click=${onAccept}>
        Accept
      </button>
      <button type="button" class="decline-button" part="decline-button" aria-label=${`Decline call from ${name}`} @click=${onDecline}>
        Decline
      </button>
    </div>
  </div>`;
}

export function callView(state: PhoneState, call: CallInfo | null, tones: string, now: number): TemplateResult | typeof nothing {
  if (state === 'incoming' || (!call && state !== 'dialing' && state !== 'ringing' && state !== 'in-call')) return nothing;
  const remote = call?.remote;
  const answered = call?.answeredAt ?? null;
  const timer =
    state === 'in-call' || answered !== null
      ? html`<span class="timer" part="timer" role="timer" aria-label="Call duration">${formatDuration(answered === null ? 0 : now - answered)}</span>`
      : html`<span class="timer pending">${STATE_LABELS[state]}</span>`;
  return html`<div class="call" part="call">
    <div class="call-line">
      <div class="party">
        <span class="label">${call?.direction === 'incoming' ? 'Call from' : 'Call to'}</span>
        <strong class="remote-name">${remote ? partyName(remote) : ''}</strong>
        ${remote && partyDetail(remote) ? html`<span class="sub">${partyDetail(remote)}</span>` : nothing}
      </div>
      ${timer}
    </div>
    ${call?.remoteHeld ? html`<span class="remote-held" part="remote-held" role="status">${remote ? partyName(remote) : 'The other party'} put you on hold</span>` : nothing}
    ${call?.held ? html`<span class="remote-held" part="remote-held" role="status">On hold</span>` : nothing}
    ${call?.recording ? html`<span class="recording" part="recording" role="status" aria-label="This call is being recorded">REC</span>` : nothing}
    ${call?.region ? html`<span class="region" part="region">Region: ${call.region}</span>` : nothing}
    ${call?.remoteMuted
      ? html`<span class="remote-muted" part="remote-muted" role="status">${micOffIcon} ${remote ? partyName(remote) : 'The other party'} is muted</span>`
      : nothing}
    ${tones ? html`<span class="tones" part="tones" aria-live="polite">Tones sent: ${tones}</span>` : nothing}
  </div>`;
}

export function meterView(level: number, active: boolean, muted: boolean): TemplateResult {
  const pct = active && !muted ? Math.round(level * 100) : 0;
  return html`<div class="meter" ?data-muted=${muted} ?data-active=${active}>
    <span aria-hidden="true">Mic</span>
    <div
      class="meter-track"
      part="meter"
      role="meter"
      aria-label="Microphone level"
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${pct}
      aria-valuetext=${active ? (muted ? 'muted' : `${pct}%`) : 'microphone off'}
    >
      <div class="meter-bar" style=${styleMap({ width: `${pct}%` })}></div>
    </div>
  </div>`;
}

export function lastCallView(ended: CallEndedDetail | null): TemplateResult | typeof nothing {
  if (!ended) return nothing;
  const text = END_REASONS[ended.reason] ?? 'Call ended';
  const talk = ended.disposition === 'ANSWERED' ? ` \u00B7 ${formatDuration(ended.duration * 1000)}` : '';
  return html`<p class="last-call" part="last-call">${text}${talk}</p>`;
}
