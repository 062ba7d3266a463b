// <astral-dial-pad>: a 4×3 keypad of real buttons that fires `astral-key` for clicks and for digits typed while focused.
import { LitElement, css, html, type PropertyValues } from 'lit';

export const DIAL_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;
export type DialKey = (typeof DIAL_KEYS)[number];

const LETTERS: Partial<Record<DialKey, string>> = {
  '2': 'ABC',
  '3': 'DEF',
  '4': 'GHI',
  '5': 'JKL',
  '6': 'MNO',
  '7': 'PQRS',
  '8': 'TUV',
  '9': 'WXYZ',
  '0': '+',
};

export function isDialKey(key: string): key is DialKey {
  return (DIAL_KEYS as readonly string[]).includes(key);
}

export interface DialKeyDetail {
  key: DialKey;
}

/**
 * Fires `astral-key` (bubbling, `detail: {key}`) when a key is clicked, or when 0-9 * # is typed while
 * focus is inside the pad. Arrow keys move focus between keys. Each key button carries `part="key"`.
 */
export class AstralDialPad extends LitElement {
  static override properties = {
    disabled: { type: Boolean, reflect: true },
    label: {},
    pressed: { state: true },
  };

  declare disabled: boolean;
  /** Accessible name of the keypad group. */
  declare label: string;
  declare private pressed: DialKey | null;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;

  /** Inside <astral-phone> the host's resolved colours (--_*, light or dark) apply; alone, --astral-* or the defaults. */
  static override styles = css`
    :host {
      display: block;
      --_key-fg: var(--_fg, var(--astral-fg, #1d2433));
      --_key-bg: var(--_bg, var(--astral-bg, #fff));
      --_key-accent: var(--_accent, var(--astral-accent, #1f7a4d));
    }
    .pad {
      display: grid;
      grid-template-columns: repeat(3, 1fr);
      gap: 6px;
    }
    button {
      font: inherit;
      display: flex;
      flex-direction: column;
      align-items: center;
      justify-content: center;
      min-height: 40px;
      padding: 4px 0;
      border: 1px solid color-mix(in srgb, var(--_key-fg) 15%, transparent);
      border-radius: var(--astral-radius, 10px);
      background: color-mix(in srgb, var(--_key-fg) 5%, var(--_key-bg));
      color: var(--_key-fg);
      cursor: pointer;
      transition: background-color 80ms ease, transform 80ms ease;
    }
    button:hover:not(:disabled) {
      background: color-mix(in srgb, var(--_key-accent) 12%, var(--_key-bg));
    }
    button:active:not(:disabled),
    button.pressed {
      background: color-mix(in srgb, var(--_key-accent) 28%, var(--_key-bg));
      transform: scale(0.96);
    }
    button:focus-visible {
      outline: 2px solid var(--_key-fg);
      outline-offset: 2px;
    }
    button:disabled {
      opacity: 0.45;
      cursor: default;
    }
    .digit {
      font-size: 1.2em;
      line-height: 1.1;
    }
    .letters {
      font-size: 0.7em;
      letter-spacing: 0.08em;
      color: color-mix(in srgb, var(--_key-fg) 78%, var(--_key-bg));
      min-height: 1em;
    }
    @media (prefers-reduced-motion: reduce) {
      button {
        transition: none;
      }
      button:active:not(:disabled),
      button.pressed {
        transform: none;
      }
    }
  `;

  constructor() {
    super();
    this.disabled = false;
    this.label = 'Dial pad';
    this.pressed = null;
    this.addEventListener('keydown', this.onKeydown);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.releaseTimer);
  }

  /** Emits a key as if it had been clicked. */
  press(key: DialKey): void {
    if (this.disabled) return;
    this.pressed = key;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => (this.pressed = null), 150);
    this.dispatchEvent(new CustomEvent<DialKeyDetail>('astral-key', { detail: { key }, bubbles: true, composed: true }));
  }

  protected override render() {
    return html`<div class="pad" role="group" aria-label=${this.label}>
      ${DIAL_KEYS.map(
        (key) => html`<button
          type="button"
          part="key"
          class=${this.pressed === key ? 'pressed' : ''}
          data-key=${key}
          ?disabled=${this.disabled}
          @click=${() => this.press(key)}
        >
          <span class="digit">${key}</span>
          <span class="letters">${LETTERS[key] ?? ''}</span>
        </button>`,
      )}
    </div>`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('disabled')) this.toggleAttribute('aria-disabled', this.disabled);
  }

  private readonly onKeydown = (e: KeyboardEvent): void => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (isDialKey(e.key)) {
      e.preventDefault();
      e.stopPropagation();
      this.press(e.key);
      return;
    }
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -3, ArrowDown: 3 };
    const delta = moves[e.key];
    if (delta === undefined) return;
    const buttons = [...(this.renderRoot.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const current = buttons.indexOf(this.shadowRoot?.activeElement as HTMLButtonElement);
    if (current < 0) return;
    const target = buttons[current + delta];
    if (target) {
      e.preventDefault();
      target.focus();
    }
  };
}

if (!customElements.get('astral-dial-pad')) customElements.define('astral-dial-pad', AstralDialPad);

declare global {
  interface HTMLElementTagNameMap {
    'astral-dial-pad': AstralDialPad;
  }
}
