// The dashboard's API proxy: `<prefix>/api/v1/calls...` forwarded, in process, to `/api/v1/calls...` with an API key the
// server holds. One mechanism for both front doors: the demo's (loopback, development only, the server's own key) and the
// logged-in dashboard's (a session cookie, the operator's own key). No key ever reaches the page.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../util/errors.js';

export interface CallsProxyOptions {
  /** `/demo` or `/dashboard`: the proxy answers `<prefix>/api/v1/calls*`. */
  prefix: string;
  /** The API key to forward with, checked by the caller's own hooks first (the demo's address check, the dashboard session). */
  apiKey: (request: FastifyRequest) => string;
  /** Route options merged in (e.g. `schema: { hide: true }`). */
  routeSchema?: Record<string, unknown>;
}

/** Registers the proxy route in its own encapsulated context of `app` (request bodies kept as raw bytes there only). */
export async function registerCallsProxy(app: FastifyInstance, { prefix, apiKey, routeSchema }: CallsProxyOptions): Promise<void> {
  await app.register(async (proxy) => {
    // A body goes on as the bytes received (the target route parses and validates it), never parsed and re-serialised.
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    proxy.all(`${prefix}/api/v1/calls*`, { ...(routeSchema ? { schema: routeSchema } : {}) }, async (request, reply) => {
      const url = callsTarget(request.url, prefix);
      if (url === null) throw new AppError('not_found', 'the dashboard proxy forwards only paths under /api/v1/calls');
      const res = await app.inject({
        method: request.method as 'GET',
        url,
        headers: { 'x-api-key': apiKey(request), ...(request.headers['content-type'] ? { 'content-type': request.headers['content-type'] } : {}) },
        ...(request.body !== undefined ? { payload: request.body as Buffer } : {}),
      });
      for (const name of ['content-type', 'content-disposition']) if (res.headers[name]) reply.header(name, res.headers[name]);
      return reply.status(res.statusCode).send(res.rawPayload);
    });
  });
}

/**
 * The /api/v1/calls URL a `<prefix>/api/v1/calls...` request names, or null when its path, decoded, would lead anywhere
 * else: a `.` or `..` segment (plain or percent-encoded), a backslash or a control character, or `/callsx`.
 */
export function callsTarget(url: string, prefix = '/demo'): string | null {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (!decoded.startsWith(`${prefix}/api/v1/calls`) || !/^(\/|$)/.test(decoded.slice(`${prefix}/api/v1/calls`.length))) return null;
  if (/[\\\u0000-\u001f\u007f]/.test(decoded)) return null;
  if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return null;
  // The prefix as sent (not percent-encoded), so cutting it leaves exactly the target path.
  return url.startsWith(`${prefix}/api/v1/calls`) ? url.slice(prefix.length) : null;
}
