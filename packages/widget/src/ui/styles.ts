// Styles of <astral-phone>: a compact card themed through --astral-* custom properties (light or dark, reduced motion respected).
import { css } from 'lit';

export const phoneStyles = css`
  :host {
    --_accent: var(--astral-accent, #1f7a4d);
    --_bg: var(--astral-bg, #ffffff);
    --_fg: var(--astral-fg, #1d2433);
    --_danger: var(--astral-danger, #c62828);
    --_radius: var(--astral-radius, 10px);
    --_on-accent: var(--astral-on-accent, #ffffff);
    /* secondary text: mixed into the background (not made transparent) so its contrast stays >= 4.5:1 */
    --_muted-fg: color-mix(in srgb, var(--_fg) 76%, var(--_bg));
    --_line: color-mix(in srgb, var(--_fg) 14%, transparent);
    /* red text: mixed toward the foreground so it reads on the card whether the theme is light or dark */
    --_danger-fg: color-mix(in srgb, var(--_danger) 60%, var(--_fg));
    --_busy: #b26b00;
    color-scheme: light;
    display: inline-block;
    box-sizing: border-box;
    width: 300px;
    max-width: 100%;
    font-family: var(--astral-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    font-size: 14px;
    color: var(--_fg);
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_accent: var(--astral-accent, #238551);
      --_bg: var(--astral-bg, #161b22);
      --_fg: var(--astral-fg, #e6edf3);
      --_danger: var(--astral-danger, #d23a37);
      --_busy: #e0a100;
      color-scheme: dark;
    }
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .phone {
    display: flex;
    flex-direction: column;
    gap: 10px;
    padding: 12px;
    background: var(--_bg);
    border: 1px solid var(--_line);
    border-radius: calc(var(--_radius) * 1.4);
    box-shadow: 0 4px 18px rgb(0 0 0 / 0.08);
  }
  .status {
    display: flex;
    align-items: center;
    gap: 8px;
    min-height: 20px;
  }
  .dot {
    flex: none;
    width: 9px;
    height: 9px;
    border-radius: 50%;
    background: var(--_muted-fg);
  }
  .dot[data-tone='ok'] {
    background: var(--_accent);
  }
  .dot[data-tone='busy'] {
    background: var(--_busy);
  }
  .dot[data-tone='off'] {
    background: var(--_danger);
  }
  .state {
    font-weight: 600;
    white-space: nowrap;
  }
  .me {
    margin-left: auto;
    min-width: 0;
    color: var(--_muted-fg);
    font-size: 0.9em;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .error {
    display: flex;
    align-items: flex-start;
    gap: 8px;
    padding: 8px 10px;
    border-radius: var(--_radius);
    background: color-mix(in srgb, var(--_danger) 12%, var(--_bg));
    color: var(--_danger-fg);
    border: 1px solid color-mix(in srgb, var(--_danger) 40%, transparent);
  }
  .error .message {
    flex: 1;
    overflow-wrap: anywhere;
  }
  .incoming,
  .call {
    display: flex;
    flex-direction: column;
    gap: 8px;
    padding: 10px;
    border-radius: var(--_radius);
    background: color-mix(in srgb, var(--_accent) 10%, var(--_bg));
    border: 1px solid color-mix(in srgb, var(--_accent) 35%, transparent);
  }
  .incoming {
    animation: astral-ring 1.2s ease-in-out infinite;
  }
  .incoming[data-ring='visual'] {
    animation-duration: 0.8s;
  }
  @keyframes astral-ring {
    0%,
    100% {
      box-shadow: 0 0 0 0 color-mix(in srgb, var(--_accent) 45%, transparent);
    }
    50% {
      box-shadow: 0 0 0 8px color-mix(in srgb, var(--_accent) 0%, transparent);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .incoming {
      animation: none;
      outline: 2px solid var(--_accent);
    }
    .meter-bar {
      transition: none;
    }
  }
  .label {
    font-size: 0.8em;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--_muted-fg);
  }
  .party {
    display: flex;
    flex-direction: column;
    min-width: 0;
  }
  .party strong {
    font-size: 1.1em;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .party .sub {
    color: var(--_muted-fg);
    font-size: 0.85em;
  }
  .call-line {
    display: flex;
    align-items: center;
    gap: 8px;
  }
  .timer {
    margin-left: auto;
    font-variant-numeric: tabular-nums;
    font-weight: 600;
  }
  .remote-muted,
  .remote-held,
  .region,
  .tones {
    font-size: 0.85em;
    color: var(--_muted-fg);
  }
  .row {
    display: flex;
    gap: 8px;
  }
  .recording {
    justify-self: start;
    font-size: 0.75em;
    font-weight: 700;
    letter-spacing: 0.05em;
    color: var(--_danger-fg);
  }
  .recording::before {
    content: '';
    display: inline-block;
    width: 0.6em;
    height: 0.6em;
    margin-right: 0.35em;
    border-radius: 50%;
    background: currentColor;
  }
  .transfer {
    display: grid;
    gap: 6px;
  }
  .transfer input {
    font: inherit;
    padding: 6px 8px;
    border-radius: var(--_radius);
    border: 1px solid color-mix(in srgb, currentColor 25%, transparent);
    background: transparent;
    color: inherit;
  }
  .transfer-state {
    font-size: 0.85em;
  }
  .row > button {
    flex: 1;
    min-width: 0;
    white-space: nowrap;
    padding-inline: 4px;
  }
  .dest {
    display: flex;
    gap: 6px;
  }
  input {
    flex: 1;
    min-width: 0;
    font: inherit;
    font-size: 1.1em;
    padding: 8px 10px;
    color: var(--_fg);
    background: var(--_bg);
    border: 1px solid var(--_line);
    border-radius: var(--_radius);
  }
  input:disabled {
    opacity: 0.6;
  }
  button {
    font: inherit;
    cursor: pointer;
    border: 1px solid var(--_line);
    border-radius: var(--_radius);
    padding: 8px 10px;
    background: color-mix(in srgb, var(--_fg) 5%, var(--_bg));
    color: var(--_fg);
  }
  button:disabled {
    opacity: 0.45;
    cursor: default;
  }
  button:focus-visible,
  input:focus-visible {
    outline: 2px solid var(--_fg);
    outline-offset: 2px;
    box-shadow: 0 0 0 4px var(--_bg);
  }
  .call-button,
  .accept-button {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_on-accent);
    font-weight: 600;
  }
  .hangup-button,
  .decline-button {
    background: var(--_danger);
    border-color: var(--_danger);
    color: var(--_on-accent);
    font-weight: 600;
  }
  .hold-button[aria-pressed='true'],
  .mute-button[aria-pressed='true'] {
    background: color-mix(in srgb, var(--_danger) 15%, var(--_bg));
    border-color: var(--_danger);
    color: var(--_danger-fg);
  }
  .dismiss {
    padding: 0 6px;
    border: none;
    background: transparent;
    color: inherit;
    font-size: 1.1em;
    line-height: 1.2;
  }
  .meter {
    display: flex;
    align-items: center;
    gap: 8px;
    font-size: 0.8em;
    color: var(--_muted-fg);
  }
  .meter-track {
    flex: 1;
    height: 6px;
    border-radius: 3px;
    background: var(--_line);
    overflow: hidden;
  }
  .meter-bar {
    height: 100%;
    width: 0;
    background: var(--_accent);
    transition: width 60ms linear;
  }
  .meter[data-muted] .meter-bar {
    background: var(--_muted-fg);
  }
  .last-call {
    margin: 0;
    font-size: 0.85em;
    color: var(--_muted-fg);
    text-align: center;
  }
  .visually-hidden {
    position: absolute;
    margin: -1px;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
