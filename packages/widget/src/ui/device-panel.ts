// The device panel of <astral-phone>'s device menu: microphone, speaker and ringtone selects (a lazy chunk).
import type { html, nothing, TemplateResult } from 'lit';
import { canChooseOutput, type AudioDevice, type DeviceManager } from '../client/devices.js';
import type { Localizer } from './i18n/locale-controller.js';
import type { DeviceActions } from './device-menu.js';

/** Lit's template tag and sentinel, handed over by the element so that this chunk carries no copy of Lit. */
export interface Lit {
  html: typeof html;
  nothing: typeof nothing;
}

function deviceSelect({ html }: Lit, l: Localizer, part: string, label: string, list: AudioDevice[], current: string, choose: (id: string) => void): TemplateResult {
  // `''` stands for the system default, so the browser's own "default" entry is not listed twice.
  const named = list.filter((d) => d.deviceId !== 'default');
  return html`<label>
    <span>${label}</span>
    <select part=${part} @change=${(e: Event) => choose((e.target as HTMLSelectElement).value)}>
      <option value="" ?selected=${current === ''}>${l.t('devices.default')}</option>
      ${named.map((d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === current}>${d.label || l.t('devices.unnamed', { n: i + 1 })}</option>`)}
    </select>
  </label>`;
}

/** The panel's selects; Escape closes it. Outputs appear where the browser can choose them (setSinkId). */
export function devicePanel(lit: Lit, l: Localizer, devices: DeviceManager, actions: DeviceActions, close: () => void): TemplateResult {
  const { html, nothing } = lit;
  const outputs = canChooseOutput();
  return html`<div
    class="devices"
    part="devices"
    id="astral-devices"
    role="group"
    aria-label=${l.t('devices.label')}
    @keydown=${(e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      close();
    }}
  >
    ${deviceSelect(lit, l, 'input-select', l.t('devices.input'), devices.inputs, devices.inputId, (id) => actions.input(id))}
    ${outputs ? deviceSelect(lit, l, 'output-select', l.t('devices.output'), devices.outputs, devices.outputId, (id) => actions.output(id, 'call')) : nothing}
    ${outputs ? deviceSelect(lit, l, 'ringtone-select', l.t('devices.ringtone'), devices.outputs, devices.ringtoneOutputId, (id) => actions.output(id, 'ringtone')) : nothing}
  </div>`;
}
