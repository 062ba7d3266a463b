// Browser origins the server answers (CORS and the socket.io handshake): its own, localhost by default, or an allowlist.

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An http(s) origin on this machine (`localhost`, `*.localhost`, 127.0.0.1 or [::1]), any port. */
export function isLocalOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const { protocol, hostname } = new URL(origin);
  return (protocol === 'http:' || protocol === 'https:') && (LOCAL_HOSTS.has(hostname) || hostname.endsWith('.localhost'));
}

/**
 * Whether a request's `Origin` may use the server: none (not a browser), one of `own()` (the server's own origins),
 * one of `allowed`, or, when no allowlist is configured (null), any localhost origin. `['*']` allows every origin.
 */
export function originPolicy(allowed: string[] | null, own: () => string[]): (origin: string | undefined) => boolean {
  if (allowed?.includes('*')) return () => true;
  const listed = new Set(allowed ?? []);
  return (origin) =>
    origin === undefined || listed.has(origin) || own().includes(origin) || (allowed === null && isLocalOrigin(origin));
}
