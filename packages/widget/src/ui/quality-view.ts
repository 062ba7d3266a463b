// The call-quality corner of <astral-phone>: the in-call warning indicator and the "Test my connection" preflight
// button with its verdict; QualityController follows the element's own astral-warning* and astral-call events.
import { css, html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { QualityWarningName } from '../client/call-quality.js';
import type { PreflightProgress, PreflightReport } from '../client/types.js';
import type { LocaleController } from './i18n/locale-controller.js';

export class QualityController implements ReactiveController {
  /** Warnings raised in the current call, in the order raised. */
  readonly warnings = new Set<QualityWarningName>();
  running: PreflightProgress | 'starting' | null = null;
  report: PreflightReport | null = null;
  failed = false;

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this);
  }

  hostConnected(): void {
    this.host.addEventListener('astral-warning', this.onWarning);
    this.host.addEventListener('astral-warning-cleared', this.onWarning);
    this.host.addEventListener('astral-call', this.onCall);
    this.host.addEventListener('astral-preflight-progress', this.onProgress);
  }

  hostDisconnected(): void {
    this.host.removeEventListener('astral-warning', this.onWarning);
    this.host.removeEventListener('astral-warning-cleared', this.onWarning);
    this.host.removeEventListener('astral-call', this.onCall);
    this.host.removeEventListener('astral-preflight-progress', this.onProgress);
  }

  /** Runs a preflight (one at a time), keeping its progress and verdict on display. */
  run(preflight: () => Promise<PreflightReport>): void {
    if (this.running) return;
    this.running = 'starting';
    this.report = null;
    this.failed = false;
    this.host.requestUpdate();
    preflight().then(
      (report) => (this.report = report),
      () => (this.failed = true),
    ).finally(() => {
      this.running = null;
      this.host.requestUpdate();
    });
  }

  private readonly onWarning = (e: HTMLElementEventMap['astral-warning']): void => {
    if (e.type === 'astral-warning') this.warnings.add(e.detail.name);
    else this.warnings.delete(e.detail.name);
    this.host.requestUpdate();
  };

  private readonly onCall = (e: HTMLElementEventMap['astral-call']): void => {
    if (e.detail.call || this.warnings.size === 0) return;
    this.warnings.clear();
    this.host.requestUpdate();
  };

  private readonly onProgress = (e: HTMLElementEventMap['astral-preflight-progress']): void => {
    if (!this.running) return;
    this.running = e.detail;
    this.host.requestUpdate();
  };
}

/** The warning indicator during a call: what is wrong, in words, as a polite status. */
export function warningView(l: LocaleController, q: QualityController, inCall: boolean): TemplateResult | typeof nothing {
  if (!inCall || q.warnings.size === 0) return nothing;
  const names = [...q.warnings];
  return html`<div class="quality-warning" part="quality-warning" role="status" data-warnings=${names.join(' ')}>
    <span aria-hidden="true">\u26A0</span> ${names.map((n) => l.t(`quality.${n}`)).join(', ')}
  </div>`;
}

/** The preflight button (while the phone is ready) and the last test's verdict and figures. */
export function preflightView(l: LocaleController, q: QualityController, canTest: boolean, onTest: () => void): TemplateResult | typeof nothing {
  if (!canTest && !q.report) return nothing;
  const ms = (v: number | undefined) => new Intl.NumberFormat(l.locale, { maximumFractionDigits: 0 }).format(v ?? 0);
  const pct = (v: number) => new Intl.NumberFormat(l.locale, { maximumFractionDigits: 1 }).format(v);
  const r = q.report;
  const progress = q.running && q.running !== 'starting' ? q.running : null;
  return html`<div class="preflight">
    <button type="button" part="preflight-button" ?disabled=${!canTest || q.running !== null} @click=${onTest}>
      ${q.running ? l.t('preflight.running', { seconds: Math.ceil(((progress?.durationMs ?? 0) - (progress?.elapsedMs ?? 0)) / 1000) }) : l.t('preflight.start')}
    </button>
    <div part="preflight-result" role="status" data-verdict=${r?.callQuality ?? nothing}>
      ${q.failed ? l.t('preflight.failed') : nothing}
      ${r ? html`<strong>${l.t('preflight.verdict', { verdict: l.t(`preflight.${r.callQuality}`) })}</strong>
            ${r.rtt ? html`<span>${l.t('preflight.figures', { rtt: ms(r.rtt.average), jitter: ms(r.jitter?.average), loss: pct(r.packetLoss) })}</span>` : nothing}`
        : nothing}
    </div>
  </div>`;
}

export const qualityStyles = css`
  .quality-warning {
    font-size: 0.8em;
    color: var(--_danger-fg);
  }
  .preflight {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px;
    font-size: 0.8em;
    color: var(--_muted-fg);
  }
  .preflight [part='preflight-result'] span {
    margin-inline-start: 6px;
  }
`;
