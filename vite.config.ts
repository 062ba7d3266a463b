// Builds the widget: an ES module and one self-contained script-tag file, into packages/widget/dist.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** RemoteSdp.js requires the whole mediasoup-client index only to read its version string. */
function mediasoupClientVersion(): Plugin {
  const id = '\0mediasoup-client-version';
  const { version } = JSON.parse(readFileSync(here('node_modules/mediasoup-client/package.json'), 'utf8')) as { version: string };
  return {
    name: 'astral:mediasoup-client-version',
    enforce: 'pre',
    resolveId: (source, importer) => (source === '../../' && importer?.endsWith('mediasoup-client/lib/handlers/sdp/RemoteSdp.js') ? id : null),
    load: (loaded) => (loaded === id ? `export const version = ${JSON.stringify(version)};` : null),
  };
}

export default defineConfig({
  logLevel: 'warn',
  plugins: [mediasoupClientVersion()],
  resolve: {
    // Trim what a browser softphone never runs from mediasoup-client (CommonJS, so not tree-shaken):
    // its test fakes (via the package index), the React Native handler and the `debug` logger.
    alias: [
      { find: /^mediasoup-client$/, replacement: here('node_modules/mediasoup-client/lib/Device.js') },
      { find: /^\.\/handlers\/ReactNative106$/, replacement: here('packages/widget/build-shims/react-native-handler.js') },
      { find: /^debug$/, replacement: here('packages/widget/build-shims/debug.js') },
    ],
  },
  build: {
    outDir: 'packages/widget/dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: 'esbuild',
    sourcemap: true,
    reportCompressedSize: false,
    lib: {
      entry: 'packages/widget/src/index.ts',
      name: 'Astral',
      formats: ['es', 'iife'],
      fileName: (format) => (format === 'es' ? 'astral-phone.mjs' : 'astral-phone.js'),
    },
  },
  esbuild: { legalComments: 'none' },
});
