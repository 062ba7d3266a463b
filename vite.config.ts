// Builds the widget into packages/widget/dist: one self-contained script-tag file, an ES module and their lazy chunks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin, type UserConfig } from 'vite';

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

/** Used by the main build and the chunks alike. */
const trimmedDependencies: UserConfig['resolve'] = {
  // Trim what a browser softphone never runs from mediasoup-client (CommonJS, so not tree-shaken):
  // its test fakes (via the package index), the React Native handler and the `debug` logger.
  alias: [
    { find: /^mediasoup-client$/, replacement: here('node_modules/mediasoup-client/lib/Device.js') },
    { find: /^\.\/handlers\/ReactNative106$/, replacement: here('packages/widget/build-shims/react-native-handler.js') },
    // Chromium 74-110's handler (the widget needs 111+) and H264 profile matching (the routers carry audio only).
    { find: /^\.\/handlers\/Chrome74$/, replacement: here('packages/widget/build-shims/chrome74-handler.js') },
    { find: /^h264-profile-level-id$/, replacement: here('packages/widget/build-shims/h264-profile-level-id.js') },
    { find: /^debug$/, replacement: here('packages/widget/build-shims/debug.js') },
    // socket.io-client's engine with the WebSocket transport only (the widget never polls).
    { find: /^\.\/transports\/index\.js$/, replacement: here('packages/widget/build-shims/engine-io-transports.js') },
  ],
};

/** A module loaded on demand: `import(specifier)` in `importer` becomes an import of `file`, built from `entry`. */
interface LazyChunk {
  importer: string;
  specifier: string;
  entry: string;
  file: string;
}

/** Siblings of astral-phone.js/.mjs in packages/widget/dist: mediasoup-client, the sip.js engine, the non-English catalogues, the preflight test and the device panel. */
const LAZY_CHUNKS: LazyChunk[] = [
  { importer: '/client/mediasoup-loader.ts', specifier: './mediasoup.js', entry: 'packages/widget/src/client/mediasoup.ts', file: 'astral-phone-mediasoup.mjs' },
  { importer: '/client/sip-engine.ts', specifier: './sip/index.js', entry: 'packages/widget/src/client/sip/index.ts', file: 'astral-phone-sip.mjs' },
  { importer: '/ui/i18n/catalogues.ts', specifier: './ru.js', entry: 'packages/widget/src/ui/i18n/ru.ts', file: 'astral-phone-i18n-ru.mjs' },
  { importer: '/ui/i18n/catalogues.ts', specifier: './es.js', entry: 'packages/widget/src/ui/i18n/es.ts', file: 'astral-phone-i18n-es.mjs' },
  { importer: '/ui/device-menu.ts', specifier: './device-panel.js', entry: 'packages/widget/src/ui/device-panel.ts', file: 'astral-phone-devices.mjs' },
  { importer: '/client/preflight-loader.ts', specifier: './preflight.js', entry: 'packages/widget/src/client/preflight.ts', file: 'astral-phone-preflight.mjs' },
];

/**
 * Lazy chunks stay out of the main bundle (the script-tag build cannot code-split): each `import('<specifier>')`
 * becomes an import of the chunk's file relative to the script's own URL (an IIFE gets import.meta.url from
 * document.currentScript).
 */
function lazyImports(): Plugin {
  return {
    name: 'astral:lazy-imports',
    enforce: 'pre',
    transform(code, id) {
      const chunks = LAZY_CHUNKS.filter((c) => id.endsWith(c.importer));
      let rewritten = code;
      for (const chunk of chunks) {
        const before = rewritten;
        rewritten = rewritten.replace(
          `import('${chunk.specifier}')`,
          `import(/* @vite-ignore */ new URL(/* @vite-ignore */ ${JSON.stringify(chunk.file)}, import.meta.url).href)`,
        );
        if (rewritten === before) this.error(`${chunk.importer} no longer imports ${chunk.specifier}`);
      }
      return chunks.length ? { code: rewritten, map: null } : null;
    },
  };
}

/** After the script-tag bundle: the ES module build of the same entry, then each lazy chunk. */
function esModuleAndChunks(): Plugin {
  return {
    name: 'astral:es-module-and-chunks',
    async closeBundle() {
      await buildModule('packages/widget/src/index.ts', 'astral-phone.mjs', 'strict');
      for (const chunk of LAZY_CHUNKS) await buildModule(chunk.entry, chunk.file, 'exports-only');
    },
  };
}

/**
 * One ES module into dist. Not lib mode: lib mode leaves an ES module's whitespace and comments unminified (keeping
 * pure annotations for a site's bundler), which made astral-phone.mjs a third larger than the script-tag build.
 */
function buildModule(entry: string, file: string, preserveEntrySignatures: 'strict' | 'exports-only') {
  return build({
    configFile: false,
    logLevel: 'warn',
    plugins: [mediasoupClientVersion(), lazyImports()],
    resolve: trimmedDependencies,
    build: {
      outDir: here('packages/widget/dist'),
      emptyOutDir: false,
      target: 'es2022',
      minify: 'esbuild',
      sourcemap: true,
      reportCompressedSize: false,
      modulePreload: false,
      copyPublicDir: false,
      rollupOptions: {
        input: here(entry),
        preserveEntrySignatures,
        output: { format: 'es', entryFileNames: file },
      },
    },
    esbuild: { legalComments: 'none' },
  });
}

export default defineConfig({
  logLevel: 'warn',
  plugins: [mediasoupClientVersion(), lazyImports(), esModuleAndChunks()],
  resolve: trimmedDependencies,
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
      formats: ['iife'],
      fileName: () => 'astral-phone.js',
    },
  },
  esbuild: { legalComments: 'none' },
});
