/**
 * Compiles AssemblyScript in a test (or a benchmark) with the compiler's API: WASI commands with the
 * stub runtime, `_start` exported, and `abort` compiled to a trap. Loading the compiler takes seconds,
 * so binaries are kept in build/.cache/assemblyscript/, keyed by the source, the options and the
 * compiler's version: only a changed source pays for it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../src/modules/registry.js';

const OPTIONS = {
  runtime: 'stub',
  exportStart: '_start',
  use: ['abort='],
  optimizeLevel: 3,
  shrinkLevel: 0,
  noColors: true,
} as const;

export async function compileAssemblyScript(source: string): Promise<Uint8Array> {
  const root = packageRoot();
  const version = (
    JSON.parse(await readFile(join(root, 'node_modules/assemblyscript/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const key = createHash('sha256')
    .update(`${version}\n${JSON.stringify(OPTIONS)}\n${source}`)
    .digest('hex');
  const cacheDir = join(root, 'build', '.cache', 'assemblyscript');
  const cached = join(cacheDir, `${key}.wasm`);
  try {
    return new Uint8Array(await readFile(cached));
  } catch {
    // not compiled yet
  }
  const { default: asc } = await import('assemblyscript/asc');
  const result = await asc.compileString(source, { ...OPTIONS, use: [...OPTIONS.use] });
  if (result.error || !result.binary) {
    throw new Error(`asc failed: ${result.stderr.toString()}${result.error?.message ?? ''}`);
  }
  await mkdir(cacheDir, { recursive: true });
  const partial = `${cached}.${process.pid}.partial`;
  await writeFile(partial, result.binary);
  await rename(partial, cached);
  return result.binary;
}

/** Compiles a file of test/executors/assembly/. */
export async function compileAssemblyScriptFile(name: string): Promise<Uint8Array> {
  return compileAssemblyScript(await readFile(new URL(`./assembly/${name}`, import.meta.url), 'utf8'));
}
