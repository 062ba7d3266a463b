// Builds the widget: an ES module and one self-contained script-tag file, into packages/widget/dist.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';

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

/** The sip.js engine's file, a sibling of astral-phone.js/.mjs in packages/widget/dist. */
const SIP_CHUNK = 'astral-phone-sip.mjs';

/**
 * The sip engine stays out of the main bundle (the script-tag build cannot code-split): client/sip-engine.ts's
 * `import('./sip/index.js')` becomes an import of SIP_CHUNK relative to the script's own URL (an IIFE gets
 * import.meta.url from document.currentScript), and SIP_CHUNK is built after the main bundle.
 */
function sipEngineChunk(): Plugin {
  return {
    name: 'astral:sip-engine-chunk',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('/client/sip-engine.ts')) return null;
      const rewritten = code.replace(
        "import('./sip/index.js')",
        `import(/* @vite-ignore */ new URL(/* @vite-ignore */ ${JSON.stringify(SIP_CHUNK)}, import.meta.url).href)`,
      );
      if (rewritten === code) this.error('sip-engine.ts no longer imports ./sip/index.js');
      return { code: rewritten, map: null };
    },
    async closeBundle() {
      await build({
        configFile: false,
        logLevel: 'warn',
        build: {
          outDir: here('packages/widget/dist'),
          emptyOutDir: false,
          target: 'es2022',
          minify: 'esbuild',
          sourcemap: true,
          reportCompressedSize: false,
          // Not lib mode: lib mode leaves an ES module's whitespace unminified, and nothing tree-shakes this leaf.
          modulePreload: false,
          copyPublicDir: false,
          rollupOptions: {
            input: here('packages/widget/src/client/sip/index.ts'),
            preserveEntrySignatures: 'exports-only',
            output: { format: 'es', entryFileNames: SIP_CHUNK },
          },
        },
        esbuild: { legalComments: 'none' },
      });
    },
  };
}

export default defineConfig({
  logLevel: 'warn',
  plugins: [mediasoupClientVersion(), sipEngineChunk()],
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
