// Builds the widget: an ES module and one self-contained script-tag file, into packages/widget/dist.
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
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
