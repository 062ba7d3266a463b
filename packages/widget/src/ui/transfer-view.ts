// The in-call transfer panel: a destination with Transfer (blind) and Consult (attended), then Complete or Cancel.
import { html, nothing, type TemplateResult } from 'lit';
import type { CallInfo } from '../client/types.js';

export interface TransferActions {
  destination: string;
  setDestination(value: string): void;
  transfer(type: 'blind' | 'attended'): void;
  complete(): void;
  cancel(): void;
}

export function transferView(call: CallInfo | null, inCall: boolean, a: TransferActions): TemplateResult | typeof nothing {
  if (!inCall || !call || call.channelId) return nothing;
  const consult = call.transfer;
  if (consult) {
    const who = consult.target.displayName || consult.target.identity;
    return html`<div class="transfer" part="transfer" role="group" aria-label="Transfer">
      <span class="transfer-state" role="status">${consult.state === 'ringing' ? `Calling ${who}...` : `Talking to ${who}`}</span>
      <div class="row">
        <button type="button" part="transfer-complete-button" ?disabled=${consult.state !== 'consulting'} @click=${a.complete}>Complete transfer</button>
        <button type="button" part="transfer-cancel-button" @click=${a.cancel}>Cancel</button>
      </div>
    </div>`;
  }
  const empty = !a.destination.trim();
  return html`<div class="transfer" part="transfer" role="group" aria-label="Transfer">
    <input
      part="transfer-input"
      type="text"
      autocomplete="off"
      aria-label="Transfer to number or name"
      placeholder="Transfer to..."
      .value=${a.destination}
      @input=${(e: Event) => a.setDestination((e.target as HTMLInputElement).value)}
      @keydown=${(e: KeyboardEvent) => e.key === 'Enter' && !empty && a.transfer('blind')}
    />
    <div class="row">
      <button type="button" part="transfer-button" aria-label="Transfer now (blind)" ?disabled=${empty} @click=${() => a.transfer('blind')}>Transfer</button>
      <button type="button" part="consult-button" aria-label="Consult first (attended transfer)" ?disabled=${empty} @click=${() => a.transfer('attended')}>Consult</button>
    </div>
  </div>`;
}
