#!/usr/bin/env node
// The `lilypad` command. The TypeScript sources are compiled to dist/ by `npm run build`,
// which `npm install` runs (the `prepare` script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('lilypad is not built yet: run `npm run build` (npm install does it for you).');
  process.exit(1);
}
await import(main.href);
