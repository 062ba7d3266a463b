// The device menu of <astral-phone>: a settings button that opens the microphone / speaker / ringtone selects
// (the panel itself, device-panel.ts, loads on first open as its own chunk).
import { css, html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { DeviceManager, OutputTarget } from '../client/devices.js';
import type { devicePanel } from './device-panel.js';
import type { Localizer } from './i18n/locale-controller.js';

type PanelModule = { devicePanel: typeof devicePanel };

/** What the panel does with a choice: the element's own setInputDevice / setOutputDevice, failures shown. */
export interface DeviceActions {
  input(deviceId: string): void;
  output(deviceId: string, target: OutputTarget): void;
}

export class DeviceMenuController implements ReactiveController {
  open = false;
  private panel: PanelModule | null = null;

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement & { readonly renderRoot: HTMLElement | DocumentFragment },
    private readonly getDevices: () => DeviceManager | null | undefined,
  ) {
    host.addController(this);
  }

  toggle(): void {
    if (this.open) this.close();
    else void this.show();
  }

  /** Closes the panel; focus goes back to the settings button. */
  close(): void {
    this.open = false;
    this.host.requestUpdate();
    void this.host.updateComplete.then(() => this.part('devices-button')?.focus());
  }

  view(l: Localizer, actions: DeviceActions): TemplateResult | typeof nothing {
    const devices = this.getDevices();
    if (!devices) return nothing;
    return html`<div class="device-menu">
      <button
        type="button"
        part="devices-button"
        aria-label=${l.t('devices.open')}
        aria-expanded=${this.open ? 'true' : 'false'}
        aria-controls="astral-devices"
        @click=${() => this.toggle()}
      >${slidersIcon}</button>
      ${this.open && this.panel ? this.panel.devicePanel({ html, nothing }, l, devices, actions, () => this.close()) : nothing}
    </div>`;
  }

  hostDisconnected(): void {
    this.open = false;
  }

  private async show(): Promise<void> {
    this.open = true;
    this.host.requestUpdate();
    // vite.config.ts builds device-panel.ts as a sibling chunk of the widget script.
    this.panel ??= await import('./device-panel.js');
    // Labels show once the page may use the microphone: ask for it now, as LiveKit's getLocalDevices does.
    await this.getDevices()?.refresh(true).catch(() => undefined);
    this.host.requestUpdate();
    await this.host.updateComplete;
    this.part('input-select')?.focus();
  }

  private part(name: string): HTMLElement | null {
    return this.host.renderRoot.querySelector<HTMLElement>(`[part~="${name}"]`);
  }
}

const slidersIcon = html`<svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M4 6h16M4 12h16M4 18h16"/><circle cx="9" cy="6" r="2" fill="currentColor"/><circle cx="15" cy="12" r="2" fill="currentColor"/><circle cx="7" cy="18" r="2" fill="currentColor"/></svg>`;

export const deviceMenuStyles = css`
  .device-menu {
    display: grid;
    justify-items: end;
    gap: 6px;
  }
  .device-menu > button {
    padding: 4px 6px;
    line-height: 0;
  }
  .devices {
    justify-self: stretch;
    display: grid;
    gap: 6px;
    font-size: 0.85em;
  }
  .devices label {
    display: grid;
    gap: 2px;
  }
  .devices select {
    font: inherit;
    padding: 4px 6px;
    color: var(--_fg);
    background: var(--_bg);
    border: 1px solid var(--_line);
    border-radius: var(--_radius);
  }
`;
