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
  for (const type of ['astral-ready', 'astral-incoming', 'astral-state', 'astral-call-ended', 'astral-error']) {
    document.addEventListener(type, (e) => window.astralEvents.push({ type, detail: e.detail }));
  }
</script>
</body></html>`;

/** Serves the embedding page on 127.0.0.1 (a secure context, and a different origin from the server). */
export async function startSite(astralUrl: string): Promise<Site> {
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(astralUrl));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
