// Loads mediasoup-client on demand: its own chunk (astral-phone-mediasoup.mjs beside the widget script in a build).
import type { Device } from './mediasoup.js';

let loading: Promise<typeof Device> | null = null;

/** mediasoup-client's Device class; the first call downloads it (connect() starts it, media setup awaits it). */
export function loadMediasoup(): Promise<typeof Device> {
  // vite.config.ts rewrites this import in the widget build to the sibling file, relative to the script's own URL.
  loading ??= import('./mediasoup.js').then(
    (m) => m.Device,
    (err: unknown) => {
      loading = null; // a failed download is tried again by the next connection
      throw err;
    },
  );
  return loading;
}
