// One lazily created AudioContext shared by the ringtone and the mic level meter, plus autoplay unlocking.

let shared: AudioContext | null = null;

/** The page-wide AudioContext for widget sounds, or null where WebAudio is unavailable. */
export function sharedAudioContext(): AudioContext | null {
  if (shared && shared.state !== 'closed') return shared;
  const Ctor =
    globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return null;
  try {
    shared = new Ctor({ latencyHint: 'interactive' });
  } catch {
    return null;
  }
  return shared;
}

/**
 * Tries to start `ctx` without a user gesture. Resolves true when it runs; false when the browser's
 * autoplay policy keeps it suspended (resume() may then stay pending, so it is only awaited briefly).
 */
export async function tryResume(ctx: AudioContext, waitMs = 250): Promise<boolean> {
  if (ctx.state === 'running') return true;
  try {
    await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, waitMs))]);
  } catch {
    // a rejected resume() is the same as a blocked one
  }
  return (ctx.state as AudioContextState) === 'running';
}

/**
 * Resumes `ctx` on the next user gesture anywhere in the document (pointerdown or keydown) and
 * calls `onRunning` once it plays. Returns a function that cancels the wait.
 */
export function resumeOnGesture(ctx: AudioContext, onRunning: () => void): () => void {
  const events = ['pointerdown', 'keydown', 'touchend'] as const;
  const cancel = () => events.forEach((e) => document.removeEventListener(e, handler, true));
  const handler = () => {
    cancel();
    ctx.resume().then(
      () => {
        if (ctx.state === 'running') onRunning();
      },
      () => undefined,
    );
  };
  events.forEach((e) => document.addEventListener(e, handler, { capture: true, passive: true }));
  return cancel;
}
