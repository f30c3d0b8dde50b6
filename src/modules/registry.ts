/**
 * The built-in registry: module references that ship with this package, mapped to the folders that
 * `npm run build:modules` writes. The folder's CID, not this table, is what a deal pins.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `name:version` → folder relative to the package root. */
export const BUILTIN_MODULES: Readonly<Record<string, string>> = {
  'cowsay:v0.0.1': 'build/modules/cowsay',
  'cowsay-docker:v0.0.1': 'build/modules/cowsay-docker',
  'csv-query:v0.1.0': 'build/modules/csv-query',
  'digits:v0.1.0': 'build/modules/digits',
  'image-edit:v0.1.0': 'build/modules/image-edit',
  'llama3:v8b-instruct': 'build/modules/llama3',
  'mandelbrot:v0.1.0': 'build/modules/mandelbrot',
  'sdxl:v1.0-base': 'build/modules/sdxl',
};

let root: string | undefined;

/**
 * The folder holding this package's package.json, found from this file so it is the same whether the
 * code runs from src/ (tsx, vitest) or from dist/ after tsc.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

/** The built-in references, sorted. */
export function builtinModules(): string[] {
  return Object.keys(BUILTIN_MODULES).sort();
}

/** The absolute folder of a built-in reference, or undefined when there is no such module. */
export function builtinModuleDir(ref: string): string | undefined {
  const relative = Object.hasOwn(BUILTIN_MODULES, ref) ? BUILTIN_MODULES[ref] : undefined;
  return relative === undefined ? undefined : join(packageRoot(), relative);
}
