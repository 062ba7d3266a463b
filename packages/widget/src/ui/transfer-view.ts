// The in-call transfer panel: a destination with Transfer (blind) and Consult (attended), then Complete or Cancel.
import { html, nothing, type TemplateResult } from 'lit';
import type { CallInfo } from '../client/types.js';
import type { Localizer } from './i18n/locale-controller.js';

export interface TransferActions {
  destination: string;
  setDestination(value: string): void;
  transfer(type: 'blind' | 'attended'): void;
  complete(): void;
  cancel(): void;
}

export function transferView(l: Localizer, call: CallInfo | null, inCall: boolean, a: TransferActions): TemplateResult | typeof nothing {
  if (!inCall || !call || call.channelId) return nothing;
  const consult = call.transfer;
  if (consult) {
    const who = consult.target.displayName || consult.target.identity;
    return html`<div class="transfer" part="transfer" role="group" aria-label=${l.t('transfer.label')}>
      <span class="transfer-state" role="status">${l.t(consult.state === 'ringing' ? 'transfer.calling' : 'transfer.talking', { name: who })}</span>
      <div class="row">
        <button type="button" part="transfer-complete-button" ?disabled=${consult.state !== 'consulting'} @click=${a.complete}>${l.t('transfer.complete')}</button>
        <button type="button" part="transfer-cancel-button" @click=${a.cancel}>${l.t('transfer.cancel')}</button>
      </div>
    </div>`;
  }
  const empty = !a.destination.trim();
  return html`<div class="transfer" part="transfer" role="group" aria-label=${l.t('transfer.label')}>
    <input
      part="transfer-input"
      type="text"
      autocomplete="off"
      aria-label=${l.t('transfer.input')}
      placeholder=${l.t('transfer.placeholder')}
      .value=${a.destination}
      @input=${(e: Event) => a.setDestination((e.target as HTMLInputElement).value)}
      @keydown=${(e: KeyboardEvent) => e.key === 'Enter' && !empty && a.transfer('blind')}
    />
    <div class="row">
      <button type="button" part="transfer-button" aria-label=${l.t('transfer.blindLabel')} ?disabled=${empty} @click=${() => a.transfer('blind')}>${l.t('transfer.blind')}</button>
      <button type="button" part="consult-button" aria-label=${l.t('transfer.consultLabel')} ?disabled=${empty} @click=${() => a.transfer('attended')}>${l.t('transfer.consult')}</button>
    </div>
  </div>`;
}
