/**
 * Module references → module folders. A reference is one of:
 * - `name:version`: the built-in registry, else the registry index (`index`, LILYPAD_MODULE_INDEX);
 * - `name` alone: its newest version there;
 * - a local folder holding lilypad.module.json;
 * - a git repository and tag, `github.com/org/repo:v1.2.0` (or a URL or a local repository path);
 * - a bare CID, fetched from the directory and verified block by block.
 * The module id is the folder's UnixFS CID. What is fetched is cached by CID; a git tag is pinned to
 * the CID it first resolved to, and a tag moved to other content is a ModuleMovedError.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CID } from 'multiformats/cid';
import { LilypadError } from '../protocol/errors.js';
import { folderCid } from '../storage/unixfs.js';
import { checkoutTag, type GitModuleRef, parseGitRef, tagCommit } from './git-source.js';
import { LILYPAD_TEMPLATE_FILE, lilypadTemplateToManifest } from './lilypad-template.js';
import { MANIFEST_FILE, type ModuleManifest, readManifest } from './manifest.js';
import { cachedModule, cacheFolder, checkPin, fetchModule, pinnedModule } from './module-cache.js';
import { builtinModuleDir, builtinModules } from './registry.js';
import { loadRegistryIndex } from './registry-index.js';

export type ResolveOptions = {
  /** Where fetched modules are kept by CID and git tags pinned (see module-cache.ts). */
  cacheDir?: string;
  /** The registry index: an http(s) URL or a file path. */
  index?: string;
  /** The directory to fetch bare CIDs from (a trustless gateway: the solver's URL). */
  gatewayUrl?: string;
  signal?: AbortSignal;
};

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

function unknownModule(ref: string, options: ResolveOptions): LilypadError {
  const where = options.index ? ` or in the index ${options.index}` : '';
  return new LilypadError(
    `unknown module "${ref}" (available modules: ${builtinModules().join(', ')})${where}`,
    {
      hint: 'use name:version from the list, a module folder, github.com/org/repo:tag or a CID',
    },
  );
}

function parseCid(ref: string): CID | undefined {
  // Shorter strings are names (a CIDv0 has 46 characters, a CIDv1 in base32 59).
  if (ref.length < 46) return undefined;
  try {
    return CID.parse(ref);
  } catch {
    return undefined;
  }
}

function cacheDirOf(options: ResolveOptions): string {
  if (options.cacheDir === undefined) {
    throw new LilypadError('fetching modules needs a cache folder (resolveModule option cacheDir)');
  }
  return options.cacheDir;
}

/** A folder that must be a module: its manifest is valid and a wasm entry exists. */
async function moduleAt(dir: string, cid?: string): Promise<ResolvedModule> {
  const manifest = await readManifest(dir);
  if (manifest.executor === 'wasm' && !existsSync(join(dir, manifest.entry.wasm))) {
    throw new LilypadError(`module ${dir}: entry.wasm file ${manifest.entry.wasm} does not exist`, {
      hint: 'build the module first (lilypad module build)',
    });
  }
  return { cid: cid ?? (await moduleCid(dir)), dir, manifest };
}

async function resolveCid(cid: CID, options: ResolveOptions): Promise<ResolvedModule> {
  const id = cid.toString();
  const cacheDir = cacheDirOf(options);
  let dir = cachedModule(cacheDir, id);
  if (dir === undefined) {
    if (options.gatewayUrl === undefined) {
      throw new LilypadError(
        `module ${id} is not cached here and no directory is configured to fetch it from`,
      );
    }
    dir = await fetchModule(
      options.gatewayUrl,
      id,
      cacheDir,
      options.signal ? { signal: options.signal } : {},
    );
  }
  // The cache holds only verified folders under their CID; recomputing it catches local tampering.
  const actual = await moduleCid(dir);
  if (actual !== id) throw new LilypadError(`the cached module ${dir} has CID ${actual}, not ${id}`);
  return moduleAt(dir, id);
}

/** `github.com/org/lilypad-module-cowsay` → `cowsay`. */
function moduleNameOf(url: string): string {
  const name = basename(url)
    .replace(/\.git$/, '')
    .replace(/^lilypad-module-/, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-');
  return /^[a-z0-9]/.test(name) ? name : `m${name}`;
}

async function resolveGit(source: GitModuleRef, options: ResolveOptions): Promise<ResolvedModule> {
  const cacheDir = cacheDirOf(options);
  const commit = await tagCommit(source);
  const pinned = await pinnedModule(cacheDir, source.ref);
  if (pinned && pinned.commit === commit) {
    const dir = cachedModule(cacheDir, pinned.cid);
    if (dir) return moduleAt(dir, pinned.cid);
  }
  await mkdir(cacheDir, { recursive: true });
  const checkout = join(cacheDir, `.git-${randomBytes(6).toString('hex')}`);
  try {
    const checkedOut = await checkoutTag(source, checkout);
    if (!existsSync(join(checkout, MANIFEST_FILE))) {
      const template = join(checkout, LILYPAD_TEMPLATE_FILE);
      if (!existsSync(template)) {
        throw new LilypadError(
          `git ${source.ref}: the repository has no ${MANIFEST_FILE} (nor ${LILYPAD_TEMPLATE_FILE}) at its root`,
        );
      }
      // A Lilypad module: its template becomes our manifest, written into the module folder (so the CID pins it).
      const manifest = lilypadTemplateToManifest(await readFile(template, 'utf8'), {
        name: moduleNameOf(source.url),
        version: source.tag,
      });
      await writeFile(join(checkout, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    }
    const cid = (await folderCid(checkout)).toString();
    await checkPin(cacheDir, source.ref, { cid, commit: checkedOut });
    const cached = await cacheFolder(cacheDir, checkout, { move: true });
    return moduleAt(cached.dir, cached.cid);
  } finally {
    await rm(checkout, { recursive: true, force: true });
  }
}

/** `name:version` (or `name`, newest) in the registry index, if one is configured and has it. */
async function resolveFromIndex(ref: string, options: ResolveOptions): Promise<ResolvedModule | undefined> {
  if (options.index === undefined) return undefined;
  const { modules } = await loadRegistryIndex(options.index, options.signal);
  let key: string | undefined = ref.includes(':') ? ref : undefined;
  if (key === undefined) {
    key = Object.keys(modules)
      .filter((name) => name.startsWith(`${ref}:`))
      .sort((a, b) => compareVersions(a.slice(ref.length + 1), b.slice(ref.length + 1)))
      .at(-1);
  }
  const target = key === undefined || !Object.hasOwn(modules, key) ? undefined : modules[key];
  if (key === undefined || target === undefined) return undefined;
  const cid = parseCid(target);
  const git = parseGitRef(target);
  if (!cid && !git) {
    throw new LilypadError(
      `the module index ${options.index} maps ${key} to "${target}", not a CID or git reference`,
    );
  }
  const module = cid ? await resolveCid(cid, options) : await resolveGit(git as GitModuleRef, options);
  const named = `${module.manifest.name}:${module.manifest.version}`;
  if (named !== key) {
    throw new LilypadError(`the module index ${options.index} maps ${key} to a module that is ${named}`);
  }
  return module;
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
export async function resolveModule(ref: string, options: ResolveOptions = {}): Promise<ResolvedModule> {
  const builtin = builtinModuleDir(ref);
  if (builtin !== undefined) return resolveBuiltin(ref, builtin);

  if (isDirectory(ref)) return moduleAt(resolve(ref));

  const cid = parseCid(ref);
  if (cid) return resolveCid(cid, options);

  const git = parseGitRef(ref);
  if (git) return resolveGit(git, options);

  // A bare name: its newest built-in version.
  if (/^[a-z0-9][a-z0-9._-]*$/.test(ref)) {
    const versions = builtinModules()
      .filter((name) => name.startsWith(`${ref}:`))
      .sort((a, b) => compareVersions(a.slice(ref.length + 1), b.slice(ref.length + 1)));
    const newest = versions.at(-1);
    if (newest !== undefined) return resolveBuiltin(newest, builtinModuleDir(newest) as string);
  }

  const indexed = await resolveFromIndex(ref, options);
  if (indexed) return indexed;

  if (ref.startsWith('.') || ref.startsWith('/') || (ref.includes('/') && !ref.includes(':'))) {
    throw new LilypadError(`no module folder at ${resolve(ref)}`);
  }
  throw unknownModule(ref, options);
}
