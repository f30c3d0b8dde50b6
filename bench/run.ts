/**
 * `npm run bench`: runs every `bench/*.bench.ts`, merges their figures into one flat object, writes
 * `bench/results.json` and `bench/results.md`, and prints the table. Each bench module exports
 * `name` and `run(): Promise<Record<string, number>>`. `npm run bench -- NAME…` runs only those.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

type Bench = { name: string; run: () => Promise<Record<string, number>> };

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const resultsFile = new URL('results.json', import.meta.url);
// A run of some benches (`npm run bench -- NAME…`) updates their figures and keeps the others'.
const figures: Record<string, number> =
  only.length > 0 ? JSON.parse(await readFile(resultsFile, 'utf8').catch(() => '{}')) : {};

for (const file of files) {
  const bench = (await import(new URL(file, import.meta.url).href)) as Bench;
  if (only.length > 0 && !only.includes(bench.name)) continue;
  process.stderr.write(`bench ${bench.name}…\n`);
  Object.assign(figures, await bench.run());
}

const width = Math.max(...Object.keys(figures).map((k) => k.length));
const table = [
  `| ${'figure'.padEnd(width)} | value |`,
  `| ${'-'.repeat(width)} | ----- |`,
  ...Object.entries(figures).map(
    ([k, v]) => `| ${k.padEnd(width)} | ${Number.isInteger(v) ? v : v.toFixed(1)} |`,
  ),
].join('\n');
await writeFile(resultsFile, `${JSON.stringify(figures, null, 2)}\n`);
await writeFile(new URL('results.md', import.meta.url), `${table}\n`);
process.stdout.write(`${table}\n`);
process.exit(0);
