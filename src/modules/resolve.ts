/**
 * Module references → module folders. A reference is `name:version` (the built-in registry), `name`
 * alone (its newest built-in version) or a local folder. The module id is the folder's UnixFS CID.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LilypadError } from '../protocol/errors.js';
import { folderCid } from '../storage/unixfs.js';
import { MANIFEST_FILE, type ModuleManifest, readManifest } from './manifest.js';
import { builtinModuleDir, builtinModules } from './registry.js';

export type ResolvedModule = { cid: string; dir: string; manifest: ModuleManifest };

// dir → CID, with a fingerprint of the folder's files so a rebuild in the same process is noticed.
const cidCache = new Map<string, { fingerprint: string; cid: string }>();

async function fingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        parts.push(`${prefix}${entry.name}/`);
        await walk(path, `${prefix}${entry.name}/`);
      } else {
        const info = await stat(path);
        parts.push(`${prefix}${entry.name}:${info.size}:${info.mtimeMs}`);
      }
    }
  };
  await walk(dir, '');
  return parts.join('\n');
}

/** The CID of a module folder, computed once per folder state within this process. */
export async function moduleCid(dir: string): Promise<string> {
  const key = resolve(dir);
  const print = await fingerprint(key);
  const cached = cidCache.get(key);
  if (cached && cached.fingerprint === print) return cached.cid;
  const cid = (await folderCid(key)).toString();
  cidCache.set(key, { fingerprint: print, cid });
  return cid;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function versionKey(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split(/[.-]/)
    .map((part) => Number.parseInt(part, 10) || 0);
}

function compareVersions(a: string, b: string): number {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function unknownModule(ref: string): LilypadError {
  return new LilypadError(`unknown module "${ref}" (available modules: ${builtinModules().join(', ')})`, {
    hint: 'use name:version from the list, or the path of a module folder',
  });
}

async function resolveBuiltin(ref: string, dir: string): Promise<ResolvedModule> {
  const notBuilt = () =>
    new LilypadError(`module ${ref} is not built yet (${dir} is missing or incomplete)`, {
      hint: 'run `npm run build` (or `npm run build:modules`) in the lilypad package',
    });
  if (!existsSync(join(dir, MANIFEST_FILE))) throw notBuilt();
  const manifest = await readManifest(dir);
  if (`${manifest.name}:${manifest.version}` !== ref) {
    throw new LilypadError(`module folder ${dir} holds ${manifest.name}:${manifest.version}, not ${ref}`);
  }
  if (manifest.executor === 'wasm' && !existsSync(join(dir, manifest.entry.wasm))) throw notBuilt();
  return { cid: await moduleCid(dir), dir, manifest };
}

/** Resolves a module reference to its folder, manifest and CID. */
export async function resolveModule(ref: string): Promise<ResolvedModule> {
  const builtin = builtinModuleDir(ref);
  if (builtin !== undefined) return resolveBuiltin(ref, builtin);

  if (isDirectory(ref)) {
    const dir = resolve(ref);
    const manifest = await readManifest(dir);
    if (manifest.executor === 'wasm' && !existsSync(join(dir, manifest.entry.wasm))) {
      throw new LilypadError(`module ${dir}: entry.wasm file ${manifest.entry.wasm} does not exist`, {
        hint: 'build the module first',
      });
    }
    return { cid: await moduleCid(dir), dir, manifest };
  }

  // A bare name: its newest built-in version.
  if (/^[a-z0-9][a-z0-9._-]*$/.test(ref)) {
    const versions = builtinModules()
      .filter((name) => name.startsWith(`${ref}:`))
      .sort((a, b) => compareVersions(a.slice(ref.length + 1), b.slice(ref.length + 1)));
    const newest = versions.at(-1);
    if (newest !== undefined) return resolveBuiltin(newest, builtinModuleDir(newest) as string);
  }

  if (ref.startsWith('.') || ref.startsWith('/') || (ref.includes('/') && !ref.includes(':'))) {
    throw new LilypadError(`no module folder at ${resolve(ref)}`);
  }
  throw unknownModule(ref);
}
