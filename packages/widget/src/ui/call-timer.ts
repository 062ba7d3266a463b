// Call timer: formats talk time (Intl) and re-renders its host once a second while a call is answered.
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Intl.DurationFormat (ES2025), not yet in TypeScript's ES2022 lib. */
interface DurationFormatLike {
  format(duration: { hours?: number; minutes: number; seconds: number }): string;
}
type DurationFormatCtor = new (locale: string, options: Record<string, string>) => DurationFormatLike;

const formatters = new Map<string, DurationFormatLike | Intl.NumberFormat>();

/** Intl.DurationFormat's digital style where the browser has it, else two-digit Intl.NumberFormat. */
function durationFormatter(locale: string): DurationFormatLike | Intl.NumberFormat {
  let f = formatters.get(locale);
  if (!f) {
    const DurationFormat = (Intl as unknown as { DurationFormat?: DurationFormatCtor }).DurationFormat;
    f = DurationFormat
      ? new DurationFormat(locale, { style: 'digital', hours: 'numeric', minutes: '2-digit', seconds: '2-digit', hoursDisplay: 'auto' })
      : new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
    formatters.set(locale, f);
  }
  return f;
}

/** `mm:ss`, or `h:mm:ss` past an hour, for a duration in milliseconds, in `locale`'s digits. */
export function formatDuration(ms: number, locale = 'en'): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const f = durationFormatter(locale);
  if (!(f instanceof Intl.NumberFormat)) return f.format(hours > 0 ? { hours, minutes, seconds } : { minutes, seconds });
  const mmss = `${f.format(minutes)}:${f.format(seconds)}`;
  return hours > 0 ? `${new Intl.NumberFormat(locale).format(hours)}:${mmss}` : mmss;
}

/** Ticks (host.requestUpdate) every second while `isActive()` holds. */
export class TickController implements ReactiveController {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly isActive: () => boolean,
    private readonly everyMs = 1000,
  ) {
    host.addController(this);
  }

  hostUpdated(): void {
    const active = this.isActive();
    if (active && !this.timer) this.timer = setInterval(() => this.host.requestUpdate(), this.everyMs);
    else if (!active) this.stop();
  }

  hostDisconnected(): void {
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
