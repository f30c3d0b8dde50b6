/** The web app's pages: Preact, bundled by vite into build/web, which `lilypad web` serves. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  build: { outDir: here('../../../build/web'), emptyOutDir: true, sourcemap: true },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
});
