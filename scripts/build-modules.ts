/**
 * `npm run build:modules`: compiles every module under modules/<name>/ (a folder with
 * lilypad.module.json and assembly/index.ts, AssemblyScript; a Docker module has only the manifest,
 * which is copied) into build/modules/<name>/, which holds
 * exactly the manifest (copied byte for byte) and the artifact named by `entry.wasm`. That folder's
 * CID is the module id, so the build must be reproducible: fixed compiler options, no source maps,
 * no debug names. A module is skipped when its sources, the compiler and this script are unchanged
 * (stamps live in build/.stamps/, outside the module folders).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModule, FIXED_OPTIONS } from '../src/modules/build.js';
import { MANIFEST_FILE, readManifest } from '../src/modules/manifest.js';
import { packageRoot } from '../src/modules/registry.js';
import { folderCid } from '../src/storage/unixfs.js';

const ENTRY = 'assembly/index.ts';

const root = packageRoot();
// The compiler (with binaryen) takes seconds to load: only when something needs building.
const ascVersion = (
  JSON.parse(await readFile(join(root, 'node_modules/assemblyscript/package.json'), 'utf8')) as {
    version: string;
  }
).version;
const modulesDir = join(root, 'modules');
const libDir = join(modulesDir, 'lib');
const outDir = join(root, 'build', 'modules');
const stampDir = join(root, 'build', '.stamps', 'modules');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'build' || entry.name === 'node_modules') continue;
      out.push(...(await listFiles(path)));
    } else if (entry.isFile()) {
      out.push(path);
    }
  }
  return out.sort();
}

/**
 * Hash of everything the artifact depends on: the module's files, the shared AssemblyScript library
 * (modules/lib/, when the module imports `../../lib/…`), the compiler and this script.
 */
async function sourceHash(moduleDir: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`asc ${ascVersion}\n${FIXED_OPTIONS.join(' ')}\n`);
  hash.update(await readFile(fileURLToPath(import.meta.url)));
  const files = await listFiles(moduleDir);
  const sources = await Promise.all(files.map((file) => readFile(file, 'utf8')));
  if (sources.some((text) => text.includes('../lib/'))) files.push(...(await listFiles(libDir)));
  for (const file of files) {
    hash.update(`\n${relative(modulesDir, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

async function folderHash(dir: string): Promise<string | undefined> {
  if (!existsSync(dir)) return undefined;
  const hash = createHash('sha256');
  for (const file of await listFiles(dir)) {
    hash.update(`\n${relative(dir, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

type Stamp = { sources: string; output: string };

async function readStamp(file: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

async function buildModule(name: string): Promise<void> {
  const moduleDir = join(modulesDir, name);
  const manifest = await readManifest(moduleDir);
  if (manifest.name !== name)
    throw new Error(`${moduleDir}: manifest name "${manifest.name}" differs from the folder`);
  if (manifest.executor !== 'wasm')
    throw new Error(`${moduleDir}: a ${manifest.executor} module has nothing to compile here`);
  if (manifest.entry.wasm.includes('/'))
    throw new Error(`${moduleDir}: entry.wasm must be a plain file name`);
  const target = join(outDir, name);
  const stampFile = join(stampDir, `${name}.json`);
  const sources = await sourceHash(moduleDir);
  const stamp = await readStamp(stampFile);
  if (stamp && stamp.sources === sources && stamp.output === (await folderHash(target))) {
    console.log(`${name}: up to date`);
    return;
  }

  const started = performance.now();
  const binary = await compileModule(moduleDir, manifest.entry.wasm);
  const staging = join(outDir, `.${name}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await copyFile(join(moduleDir, MANIFEST_FILE), join(staging, MANIFEST_FILE));
  await writeFile(join(staging, manifest.entry.wasm), binary);
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);

  await mkdir(stampDir, { recursive: true });
  const output = (await folderHash(target)) as string;
  await writeFile(stampFile, `${JSON.stringify({ sources, output } satisfies Stamp)}\n`);
  const cid = await folderCid(target);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${name}: built in ${seconds} s, ${binary.length} bytes → ${relative(root, target)} (${cid})`);
}

/** A Docker module's folder is its manifest alone (the image is pinned by digest): copied as it is. */
async function copyDockerModule(name: string): Promise<void> {
  const moduleDir = join(modulesDir, name);
  const manifest = await readManifest(moduleDir);
  if (manifest.executor !== 'docker') throw new Error(`${moduleDir}: a wasm module needs ${ENTRY}`);
  const target = join(outDir, name);
  const source = await readFile(join(moduleDir, MANIFEST_FILE));
  if (existsSync(join(target, MANIFEST_FILE)) && source.equals(await readFile(join(target, MANIFEST_FILE)))) {
    console.log(`${name}: up to date`);
    return;
  }
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await writeFile(join(target, MANIFEST_FILE), source);
  console.log(`${name}: docker manifest → ${relative(root, target)} (${await folderCid(target)})`);
}

async function main(): Promise<void> {
  const names = (await readdir(modulesDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && existsSync(join(modulesDir, entry.name, MANIFEST_FILE)))
    .map((entry) => entry.name)
    .sort();
  for (const name of names) {
    if (!existsSync(join(modulesDir, name, ENTRY))) {
      await copyDockerModule(name);
      continue;
    }
    await buildModule(name);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
