// Loads the sip.js engine on demand: its own chunk (astral-phone-sip.mjs beside the widget script in a build).
import type { SipClient, SipClientOptions } from './sip/index.js';

export type { SipClient, SipClientOptions };

/** A SipClient for `engine="sip"`; the first call downloads the engine. */
export async function createSipClient(options: SipClientOptions): Promise<SipClient> {
  // vite.config.ts rewrites this import in the widget build to the sibling file, relative to the script's own URL.
  const { SipClient } = await import('./sip/index.js');
  return new SipClient(options);
}
