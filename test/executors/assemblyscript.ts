/**
 * Compiles AssemblyScript in a test (or a benchmark) with the compiler's API: WASI commands with the
 * stub runtime, `_start` exported, and `abort` compiled to a trap.
 */
import { readFile } from 'node:fs/promises';

export async function compileAssemblyScript(source: string): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  const result = await asc.compileString(source, {
    runtime: 'stub',
    exportStart: '_start',
    use: ['abort='],
    optimizeLevel: 3,
    shrinkLevel: 0,
    noColors: true,
  });
  if (result.error || !result.binary) {
    throw new Error(`asc failed: ${result.stderr.toString()}${result.error?.message ?? ''}`);
  }
  return result.binary;
}

/** Compiles an AssemblyScript file of test/executors/assembly/. */
export async function compileAssemblyScriptFile(name: string): Promise<Uint8Array> {
  return compileAssemblyScript(await readFile(new URL(`./assembly/${name}`, import.meta.url), 'utf8'));
}
