/**
 * What the directory accepts as a published module: a CAR with one root, complete and verified, whose
 * root is a UnixFS folder holding a `lilypad.module.json` that parses as a manifest and, for a wasm
 * module, its entry file. It is checked in memory, so nothing of a refused upload reaches the store.
 */
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter';
import type { CID } from 'multiformats/cid';
import { MANIFEST_FILE, type ModuleManifest, parseManifest } from '../modules/manifest.js';
import { LilypadError } from '../protocol/errors.js';
import { type Blockstore, concat, memoryBlockstore } from '../storage/blockstore.js';
import { importCar } from '../storage/car.js';

/** A manifest is a small JSON file; anything larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export class NotAModuleError extends LilypadError {
  override name = 'NotAModuleError';
}

const notAModule = (message: string, details?: string) =>
  new NotAModuleError(message, {
    ...(details === undefined ? {} : { details }),
    hint: 'publish a module folder (the build/ of a project): `lilypad module publish PATH` packs one',
  });

/** The entry at `path` (relative, `/`-separated) under `folder`, if there is one. */
async function entryAt(
  blockstore: Blockstore,
  folder: UnixFSEntry,
  path: string,
): Promise<UnixFSEntry | undefined> {
  let entry: UnixFSEntry | undefined = folder;
  for (const name of path.split('/').filter((part) => part !== '' && part !== '.')) {
    if (entry?.type !== 'directory') return undefined;
    let next: UnixFSEntry | undefined;
    for await (const child of entry.entries()) {
      if (child.name === name) next = await exporter(child.cid, blockstore);
    }
    entry = next;
  }
  return entry;
}

async function fileText(entry: Extract<UnixFSEntry, { type: 'file' | 'raw' }>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of entry.content()) {
    size += chunk.byteLength;
    if (size > MAX_MANIFEST_BYTES) throw notAModule(`its ${MANIFEST_FILE} is larger than 1 MiB`);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(concat(chunks));
}

/** Checks that `car` is one whole module folder; returns its CID (the module id) and manifest. */
export async function checkModuleCar(
  car: Uint8Array,
  maxBytes: number,
): Promise<{ root: CID; manifest: ModuleManifest }> {
  const staging = memoryBlockstore();
  const roots = await importCar(staging, car, { maxBytes });
  if (roots.length !== 1) {
    throw notAModule(`the CAR declares ${roots.length} roots; a module is one folder, one root`);
  }
  const root = roots[0] as CID;
  const folder = await exporter(root, staging);
  if (folder.type !== 'directory')
    throw notAModule(`${root} is not a folder (it is a UnixFS ${folder.type}): a module is a folder`);
  const manifestEntry = await entryAt(staging, folder, MANIFEST_FILE);
  if (manifestEntry?.type !== 'file' && manifestEntry?.type !== 'raw')
    throw notAModule(`the folder ${root} has no ${MANIFEST_FILE}`);
  let json: unknown;
  try {
    json = JSON.parse(await fileText(manifestEntry));
  } catch (error) {
    if (error instanceof NotAModuleError) throw error;
    throw notAModule(`its ${MANIFEST_FILE} is not JSON`, (error as Error).message);
  }
  let manifest: ModuleManifest;
  try {
    manifest = parseManifest(json);
  } catch (error) {
    throw notAModule((error as LilypadError).message, (error as LilypadError).details);
  }
  if (manifest.executor === 'wasm') {
    const entry = await entryAt(staging, folder, manifest.entry.wasm);
    if (entry?.type !== 'file' && entry?.type !== 'raw') {
      throw notAModule(`the module folder has no ${manifest.entry.wasm}, its entry.wasm`);
    }
  }
  return { root, manifest };
}
