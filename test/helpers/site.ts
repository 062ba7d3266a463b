// A customer's website on another origin: a page that embeds the widget with one script tag.
import { createServer, type Server } from 'node:http';
import { freePort } from './server.js';

export interface Site {
  url: string;
  close(): Promise<void>;
}

const page = (astral: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Customer site</title></head>
<body>
<h1>Call us</h1>
<script src="${astral}/widget/astral-phone.js"></script>
<astral-phone id="phone"></astral-phone>
<script>
  window.astralEvents = [];
  for (const type of ['astral-ready', 'astral-incoming', 'astral-state', 'astral-call-ended', 'astral-error', 'astral-dtmf', 'astral-media', 'astral-warning', 'astral-warning-cleared', 'astral-preflight-progress', 'astral-devicechange', 'astral-device-changed']) {
    document.addEventListener(type, (e) => window.astralEvents.push({ type, detail: e.detail }));
  }
</script>
</body></html>`;

/** Mints a widget token for an identity: the site's backend, which holds the API key. */
export type Minter = (identity: string) => Promise<{ token: string; expires_at: string }>;

/**
 * Serves the embedding page on 127.0.0.1 (a secure context, and a different origin from the server),
 * and `/token?identity=NAME`, the site backend's token endpoint for the widget's `token-url`.
 */
export async function startSite(astralUrl: string, mint?: Minter): Promise<Site> {
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === '/token' && mint) {
      mint(url.searchParams.get('identity') ?? '').then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        () => {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end('{"error":"no token"}');
        },
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(astralUrl));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A region endpoint that answers /healthz after `delayMs`: a "far away" region for latency-based region choice. */
export async function startSlowEndpoint(delayMs: number): Promise<Site> {
  const port = await freePort();
  const server: Server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end('{"status":"ok"}');
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
