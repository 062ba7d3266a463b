// A customer site for the sip engine: a page with <astral-phone engine="sip"> whose script comes from another origin
// (the built widget under /widget/, as an Astral server serves it), /sip-token?user=N (the site's token endpoint
// answering {"sip": {...}}); plus opening phones on it.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { PhonePage } from './phone.js';
import { freePort } from './server.js';

export const WIDGET_DIST = fileURLToPath(new URL('../../packages/widget/dist/', import.meta.url));

const page = (widgetOrigin: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Customer site (SIP)</title></head>
<body>
<h1>Call us</h1>
<script src="${widgetOrigin}/widget/astral-phone.js"></script>
<astral-phone id="phone" engine="sip"></astral-phone>
<script>
  window.astralEvents = [];
  for (const type of ['astral-ready', 'astral-incoming', 'astral-state', 'astral-call-ended', 'astral-error', 'astral-dtmf', 'astral-transfer', 'astral-device-changed']) {
    document.addEventListener(type, (e) => window.astralEvents.push({ type, detail: e.detail }));
  }
</script>
</body></html>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json' };

export interface SipSite {
  url: string;
  /** Paths of /widget/ files the browsers fetched. */
  fetched: string[];
  close(): Promise<void>;
}

/** Serves the site on 127.0.0.1 for a PBX at `wsUrl` with SIP domain `domain`. */
export async function startSipSite(wsUrl: string, domain: string): Promise<SipSite> {
  const [port, widgetPort] = [await freePort(), await freePort()];
  const fetched: string[] = [];
  // The widget's origin: a module import of the sip chunk from the page's origin needs CORS, as the Astral server sends.
  const widgets: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://widgets');
    const file = normalize(join(WIDGET_DIST, url.pathname.slice('/widget/'.length)));
    if (!url.pathname.startsWith('/widget/') || !file.startsWith(WIDGET_DIST)) return void res.writeHead(404).end();
    fetched.push(url.pathname);
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === '/sip-token') {
      const user = url.searchParams.get('user') ?? '';
      if (!/^\d+$/.test(user)) return void res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":"no account"}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sip: { server: wsUrl, uri: `sip:${user}@${domain}`, display_name: `User ${user}` } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(`http://127.0.0.1:${widgetPort}`));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  await new Promise<void>((r) => widgets.listen(widgetPort, '127.0.0.1', r));
  const close = (srv: Server) => new Promise<void>((r) => srv.close(() => r()));
  return { url: `http://127.0.0.1:${port}/`, fetched, close: async () => void (await Promise.all([close(server), close(widgets)])) };
}

/** Opens the site and signs its phone in as SIP user `user`: with sip-* attributes, or through the token URL. */
export async function openSipPhone(browser: Browser, site: SipSite, wsUrl: string, domain: string, user: string, via: 'attributes' | 'token-url' = 'attributes'): Promise<PhonePage> {
  const p = await browser.newPage();
  await p.goto(site.url);
  const attrs: Record<string, string> =
    via === 'token-url' ? { 'token-url': `${site.url}sip-token?user=${user}` } : { 'sip-server': wsUrl, 'sip-uri': `sip:${user}@${domain}`, 'sip-display-name': `User ${user}` };
  await p.evaluate((attrs) => {
    const phone = document.getElementById('phone')!;
    for (const [k, v] of Object.entries(attrs)) phone.setAttribute(k, v);
  }, attrs);
  return PhonePage.of(p);
}
