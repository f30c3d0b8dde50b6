import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BlackHoleBlockstore } from 'blockstore-core/black-hole';
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter';
import {
  type DirectoryCandidate,
  type FileCandidate,
  type ImporterOptions,
  importer,
  importBytes as unixfsImportBytes,
} from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { LilypadError } from '../protocol/errors.js';
import type { Blockstore } from './blockstore.js';
import { UnsafePathError } from './errors.js';

/**
 * How bytes become a UnixFS DAG. Part of the protocol: a mediator re-running a job must derive the
 * same CID from the same bytes, so every parameter is pinned here rather than left to library
 * defaults, which have changed between releases. These match `ipfs add -r --cid-version=1` in kubo.
 * No mtime or mode is recorded (file permissions are not part of a CID).
 */
export const UNIXFS_PARAMETERS = {
  cidVersion: 1,
  hash: 'sha2-256',
  rawLeaves: true,
  chunker: 'fixed-size',
  chunkSize: 262_144,
  layout: 'balanced',
  maxChildrenPerNode: 174,
  wrapWithDirectory: false,
  reduceSingleLeafToSelf: true,
  // Folders whose links (name + CID bytes) exceed 256 KiB become HAMT shards, 256-way.
  shardSplitThresholdBytes: 262_144,
  shardSplitStrategy: 'links-bytes',
  shardFanoutBits: 8,
  fieldOrder: 'links-first',
} as const;

// The name the importer gives the imported folder; only a path prefix, it is not part of any CID.
const ROOT = 'root';

function importerOptions(): ImporterOptions {
  const p = UNIXFS_PARAMETERS;
  return {
    cidVersion: p.cidVersion,
    rawLeaves: p.rawLeaves,
    chunker: fixedSize({ chunkSize: p.chunkSize }),
    layout: balanced({ maxChildrenPerNode: p.maxChildrenPerNode }),
    wrapWithDirectory: p.wrapWithDirectory,
    reduceSingleLeafToSelf: p.reduceSingleLeafToSelf,
    shardSplitThresholdBytes: p.shardSplitThresholdBytes,
    shardSplitStrategy: p.shardSplitStrategy,
    shardFanoutBits: p.shardFanoutBits,
    fieldOrder: p.fieldOrder,
  };
}

const utf8 = new TextEncoder();
const byName = (a: { name: string }, b: { name: string }): number =>
  Buffer.compare(utf8.encode(a.name), utf8.encode(b.name));

// Opens the file only when the importer starts reading it, so a large folder does not open every file.
async function* readLazily(path: string): AsyncGenerator<Uint8Array> {
  yield* createReadStream(path);
}

async function* folderCandidates(
  dir: string,
  path: string,
): AsyncGenerator<FileCandidate | DirectoryCandidate> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort(byName);
  for (const entry of entries) {
    const abs = join(dir, entry.name);
    // The importer splits paths on "/" unless escaped by "\": a trailing backslash would merge names.
    if (entry.name.endsWith('\\'))
      throw new UnsafePathError(`cannot import ${abs}: its name ends with a backslash`);
    const childPath = `${path}/${entry.name}`;
    if (entry.isDirectory()) {
      yield { path: childPath };
      yield* folderCandidates(abs, childPath);
    } else if (entry.isFile()) {
      yield { path: childPath, content: readLazily(abs) };
    } else {
      // Symbolic links could point anywhere on the importing machine; devices and sockets have no bytes.
      throw new UnsafePathError(`cannot import ${abs}: only regular files and folders are imported`, {
        hint: 'replace symbolic links by copies of what they point to',
      });
    }
  }
}

/** Imports a folder (files and subfolders, in sorted order) and returns the CID of the folder itself. */
export async function importFolder(blockstore: Pick<Blockstore, 'put'>, dir: string): Promise<CID> {
  const info = await stat(dir);
  if (!info.isDirectory()) throw new LilypadError(`${dir} is not a folder`);
  async function* candidates(): AsyncGenerator<FileCandidate | DirectoryCandidate> {
    yield { path: ROOT };
    yield* folderCandidates(dir, ROOT);
  }
  let root: CID | undefined;
  for await (const entry of importer(candidates(), blockstore, importerOptions())) {
    if (entry.path === ROOT) root = entry.cid;
  }
  if (!root) throw new LilypadError(`importing ${dir} produced no root`);
  return root;
}

/** Imports bytes as one UnixFS file (a raw block if it fits in one chunk). */
export async function importBytes(blockstore: Pick<Blockstore, 'put'>, bytes: Uint8Array): Promise<CID> {
  const { cid } = await unixfsImportBytes(bytes, blockstore, importerOptions());
  return cid;
}

/** Imports a file (as importBytes) or a folder (as importFolder). */
export async function importPath(blockstore: Pick<Blockstore, 'put'>, path: string): Promise<CID> {
  const info = await stat(path);
  if (info.isDirectory()) return importFolder(blockstore, path);
  if (!info.isFile()) throw new LilypadError(`${path} is neither a file nor a folder`);
  return importBytes(blockstore, await readFile(path));
}

/** The CID a folder would have, without keeping any block (the id of a module folder). */
export async function folderCid(dir: string): Promise<CID> {
  return await importFolder(new BlackHoleBlockstore(), dir);
}

function safeChild(parent: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new UnsafePathError(`refusing to write an entry named ${JSON.stringify(name)}`, {
      hint: 'the DAG was built to escape the destination folder, or is corrupt',
    });
  }
  const child = join(parent, name);
  if (!resolve(child).startsWith(resolve(parent) + sep)) {
    throw new UnsafePathError(`refusing to write ${JSON.stringify(name)} outside ${parent}`);
  }
  return child;
}

async function writeEntry(
  blockstore: Blockstore,
  entry: UnixFSEntry,
  target: string,
  options: { signal?: AbortSignal },
): Promise<void> {
  switch (entry.type) {
    case 'directory':
      // Not recursive: an existing entry (a duplicate name, or something planted) is an error.
      await mkdir(target);
      for await (const child of entry.entries(options)) {
        const childEntry = await exporter(child.cid, blockstore, options);
        await writeEntry(blockstore, childEntry, safeChild(target, child.name), options);
      }
      return;
    case 'file':
    case 'raw':
    case 'identity':
      // "wx": never follow or overwrite something already at the path.
      await pipeline(entry.content(options), createWriteStream(target, { flags: 'wx' }), options);
      return;
    default:
      throw new LilypadError(`${entry.cid} is a ${entry.type} node, not a UnixFS file or folder`);
  }
}

/** Writes the UnixFS file or folder `cid` at `target`, which must not exist yet. */
export async function exportPath(
  blockstore: Blockstore,
  cid: CID,
  target: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  await writeEntry(blockstore, await exporter(cid, blockstore, options), target, options);
}

/**
 * Writes the UnixFS folder `cid` to `destDir` (created if missing; entries inside must not exist yet).
 * Names are checked so a crafted DAG cannot write outside `destDir`.
 */
export async function exportFolder(
  blockstore: Blockstore,
  cid: CID,
  destDir: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const root = await exporter(cid, blockstore, options);
  if (root.type !== 'directory') throw new LilypadError(`${cid} is a ${root.type}, not a folder`);
  await mkdir(destDir, { recursive: true });
  for await (const child of root.entries(options)) {
    const entry = await exporter(child.cid, blockstore, options);
    await writeEntry(blockstore, entry, safeChild(destDir, child.name), options);
  }
}
