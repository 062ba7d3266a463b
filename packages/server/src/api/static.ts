// Static files: the demo page at / and the built widget bundle at /widget/; with the demo off, only the operator
// dashboard's own files (its page logs in with an API key, see dashboard-session.ts).
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';

/** The files the dashboard page needs, served from the demo directory even when the demo is off. */
const DASHBOARD_FILES = new Set(['/dashboard.html', '/dashboard.js', '/dashboard.css', '/demo.css']);

export const staticFiles: FastifyPluginAsync<{ demoDir: string | null; dashboardDir?: string | null; widgetDir: string }> = async (
  app,
  { demoDir, dashboardDir = null, widgetDir },
) => {
  if (!existsSync(widgetDir)) app.log.warn({ widgetDir }, 'widget bundle not built (run npm run build:widget)');
  await app.register(fastifyStatic, {
    root: widgetDir,
    prefix: '/widget/',
    decorateReply: false,
    allowedPath: () => existsSync(widgetDir),
    setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
  });
  if (demoDir) await app.register(fastifyStatic, { root: demoDir, prefix: '/', decorateReply: false });
  else if (dashboardDir) {
    await app.register(fastifyStatic, { root: dashboardDir, prefix: '/', decorateReply: false, index: false, allowedPath: (path) => DASHBOARD_FILES.has(path) });
  }
};
