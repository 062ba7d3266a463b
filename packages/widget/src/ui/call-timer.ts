// Call timer: formats talk time and re-renders its host once a second while a call is answered.
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** `mm:ss`, or `h:mm:ss` past an hour, for a duration in milliseconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
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
