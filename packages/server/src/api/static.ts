// Static files: the demo page at / and the built widget bundle at /widget/.
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';

export const staticFiles: FastifyPluginAsync<{ demoDir: string | null; widgetDir: string }> = async (app, { demoDir, widgetDir }) => {
  if (!existsSync(widgetDir)) app.log.warn({ widgetDir }, 'widget bundle not built (run npm run build:widget)');
  await app.register(fastifyStatic, {
    root: widgetDir,
    prefix: '/widget/',
    decorateReply: false,
    allowedPath: () => existsSync(widgetDir),
    setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
  });
  if (demoDir) await app.register(fastifyStatic, { root: demoDir, prefix: '/', decorateReply: false });
};
