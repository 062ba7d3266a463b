// Loads the preflight test on demand: its own chunk (astral-phone-preflight.mjs beside the widget script in a build).
import type { runPreflight } from './preflight.js';

/** The preflight runner; the first test downloads it. */
export async function loadPreflight(): Promise<typeof runPreflight> {
  // vite.config.ts rewrites this import in the widget build to the sibling file, relative to the script's own URL.
  const { runPreflight } = await import('./preflight.js');
  return runPreflight;
}
