// @web/test-runner config for the widget's component tests (run from the repo root: `npm run test:widget`).
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The Chromium binary and flags every browser test shares. */
const chromium = JSON.parse(readFileSync(path.join(rootDir, 'test/helpers/chromium.json'), 'utf8'));
const requireFromRoot = createRequire(path.join(rootDir, 'package.json'));

const CJS_PREFIX = '/__astral_cjs__/';
const BARE_PACKAGE = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** True for an installed package that ships only CommonJS (which the browser cannot import as is). */
function isCommonJsOnly(name) {
  const file = path.join(rootDir, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return false;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  if (pkg.type === 'module' || pkg.module || String(pkg.main ?? '').endsWith('.mjs')) return false;
  return !/"(import|module|browser)"\s*:|\.mjs"/.test(JSON.stringify(pkg.exports ?? {}));
}

/** An ES module of `name`, bundled by esbuild, with the named exports Node sees on its CommonJS exports. */
async function bundleCommonJs(name) {
  let names = [];
  try {
    names = Object.keys(requireFromRoot(name)).filter((n) => IDENTIFIER.test(n) && n !== 'default' && n !== '__esModule');
  } catch {
    // cannot load under Node: default export only
  }
  const contents = [
    `import * as ns from ${JSON.stringify(name)};`,
    `export default ns.default;`,
    names.length ? `export const { ${names.join(', ')} } = ns;` : '',
  ].join('\n');
  const result = await build({
    stdin: { contents, resolveDir: rootDir, sourcefile: `${name}.cjs-entry.js`, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"development"' },
  });
  return result.outputFiles[0].text;
}

/**
 * Serves CommonJS-only dependencies (mediasoup-client and its helpers) as esbuild-bundled ES modules,
 * so the real AstralClient can load in the test browser. Runs before node-resolve.
 */
function commonJsPackages() {
  const bundles = new Map();
  return {
    name: 'astral-commonjs-packages',
    resolveImport({ source }) {
      if (BARE_PACKAGE.test(source) && isCommonJsOnly(source)) return `${CJS_PREFIX}${encodeURIComponent(source)}.js`;
      return undefined;
    },
    async serve(context) {
      if (!context.path.startsWith(CJS_PREFIX)) return undefined;
      const name = decodeURIComponent(context.path.slice(CJS_PREFIX.length, -'.js'.length));
      if (!bundles.has(name)) bundles.set(name, bundleCommonJs(name));
      return { body: await bundles.get(name), type: 'js' };
    },
  };
}

export default {
  rootDir,
  // test/node/ runs under Node (the README reference check: scripts/test.sh)
  files: ['packages/widget/test/**/*.test.ts', '!packages/widget/test/node/**'],
  // browser: true applies package.json "browser" maps (engine.io-client swaps its Node transports that way)
  nodeResolve: { browser: true },
  concurrency: 1,
  testFramework: { config: { timeout: 10_000 } },
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' }), commonJsPackages()],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH || chromium.executablePath,
        headless: true,
        args: chromium.args,
      },
    }),
  ],
};
