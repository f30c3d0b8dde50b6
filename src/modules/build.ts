/**
 * `lilypad module build`: compiles a module project (lilypad.module.json + assembly/index.ts,
 * AssemblyScript, with an optional asconfig.json) into `<project>/build/`, the module folder: the
 * manifest byte for byte and the artifact `entry.wasm`. Fixed compiler options and no debug sections,
 * so the same sources give the same CID on every machine.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WasmApi } from '../executors/wasm/wasm-api.js';
import { LilypadError } from '../protocol/errors.js';
import { MANIFEST_FILE, readManifest } from './manifest.js';

const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
export const BUILD_DIR = 'build';
const ENTRY = 'assembly/index.ts';
const CONFIG = 'asconfig.json';
// Per-module settings (runtime, exportStart, use) come from the module's asconfig.json; these win.
export const FIXED_OPTIONS = ['--optimizeLevel', '3', '--shrinkLevel', '0', '--noColors'];

/** Compiles one AssemblyScript project to its artifact's bytes, refusing anything that would carry machine paths. */
export async function compileModule(projectDir: string, artifact: string): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  const outputs = new Map<string, Uint8Array | string>();
  const args = [ENTRY, '--baseDir', projectDir, '--outFile', artifact, ...FIXED_OPTIONS];
  if (existsSync(join(projectDir, CONFIG))) args.push('--config', CONFIG);
  const stderr = asc.createMemoryStream();
  const result = await asc.main(args, {
    stderr,
    writeFile: (name, contents) => {
      outputs.set(name, contents);
    },
  });
  if (result.error) {
    throw new LilypadError(`the AssemblyScript compiler failed for ${projectDir}`, {
      details: `${stderr.toString()}${result.error.message}`,
    });
  }
  const binary = outputs.get(artifact);
  if (!(binary instanceof Uint8Array)) throw new LilypadError(`asc wrote no ${artifact} for ${projectDir}`);
  for (const name of outputs.keys()) {
    if (name !== artifact) {
      throw new LilypadError(`asc also wrote ${name} for ${projectDir}`, {
        hint: `drop sourceMap/textFile from ${CONFIG}`,
      });
    }
  }
  const module = await WebAssembly.compile(binary);
  for (const section of ['sourceMappingURL', 'name']) {
    if (WebAssembly.Module.customSections(module, section).length > 0) {
      throw new LilypadError(`the artifact has a "${section}" section: it would carry this machine's paths`, {
        hint: `drop debug and sourceMap from ${CONFIG}`,
      });
    }
  }
  return binary;
}

/** Builds `<projectDir>/build/`; returns its path and the artifact's size. */
export async function buildModule(projectDir: string): Promise<{ dir: string; bytes: number }> {
  const manifest = await readManifest(projectDir);
  if (manifest.executor !== 'wasm') {
    throw new LilypadError(`a ${manifest.executor} module has nothing to compile`, {
      hint: 'a Docker module is its manifest: pin the image by digest and run it as it is',
    });
  }
  if (!existsSync(join(projectDir, ENTRY))) {
    throw new LilypadError(`no ${ENTRY} in ${projectDir}`, {
      hint: 'lilypad module init NAME makes a project',
    });
  }
  if (manifest.entry.wasm.includes('/')) throw new LilypadError('entry.wasm must be a plain file name');
  const binary = await compileModule(projectDir, manifest.entry.wasm);
  const target = join(projectDir, BUILD_DIR);
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await copyFile(join(projectDir, MANIFEST_FILE), join(staging, MANIFEST_FILE));
  await writeFile(join(staging, manifest.entry.wasm), binary);
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);
  return { dir: target, bytes: binary.length };
}

/** The newest modification time (ms) of the files under `path` (a file or a folder); 0 if it is missing. */
async function newestChange(path: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestChange(join(path, entry)));
  return newest;
}

/**
 * Builds a module project when its build/ is missing or older than its sources (manifest, asconfig.json,
 * assembly/); returns whether it built. A path that is not a project (a module folder) is left alone.
 */
export async function buildIfNeeded(path: string): Promise<boolean> {
  if (!existsSync(join(path, ENTRY)) || !existsSync(join(path, MANIFEST_FILE))) return false;
  const built = await newestChange(join(path, BUILD_DIR));
  const sources = Math.max(
    ...(await Promise.all([MANIFEST_FILE, CONFIG, 'assembly'].map((name) => newestChange(join(path, name))))),
  );
  if (built > 0 && built >= sources) return false;
  await buildModule(path);
  return true;
}

/** The module folder of a path: `<path>/build/` for a built project, else the path itself. */
export function moduleFolderOf(path: string): string {
  const built = join(path, BUILD_DIR);
  return existsSync(join(built, MANIFEST_FILE)) ? built : path;
}
