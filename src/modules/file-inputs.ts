/**
 * File inputs: a `file` input's value is the CID of a file or folder in the directory. The job creator
 * turns `-i Image=@photo.png` into that CID (importing the file into its blockstore, to publish with
 * the module); the resource provider fetches the CID, verifying every block, into the job's inputs
 * folder as `<Name>`, and the module gets the path `/inputs/<Name>` as the input's value.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import { LilypadError } from '../protocol/errors.js';
import type { Blockstore } from '../storage/blockstore.js';
import { importPath } from '../storage/unixfs.js';
import type { ModuleManifest } from './manifest.js';

/** Where the executors mount the job's inputs folder. */
export const INPUTS_MOUNT = '/inputs';

/** The names of the manifest's file inputs, sorted. */
export function fileInputNames(manifest: ModuleManifest): string[] {
  return Object.keys(manifest.inputs)
    .filter((name) => manifest.inputs[name]?.type === 'file')
    .sort();
}

/**
 * Job creator: every file input given as `@path` is imported into `blockstore` and replaced by its
 * CID. Returns the raw inputs with CIDs and the roots to publish to the directory with the job.
 */
export async function importFileInputs(
  manifest: ModuleManifest,
  raw: Record<string, string>,
  blockstore: Pick<Blockstore, 'put'>,
): Promise<{ inputs: Record<string, string>; roots: CID[] }> {
  const inputs = { ...raw };
  const roots: CID[] = [];
  for (const name of fileInputNames(manifest)) {
    const value = inputs[name];
    if (value === undefined) continue;
    if (!value.startsWith('@')) {
      // A CID already in the directory: published by someone else, nothing to upload.
      continue;
    }
    const path = value.slice(1);
    const limit = manifest.inputs[name]?.maxBytes;
    const size = await sizeOf(path).catch(() => 0); // unreadable: importPath below says why
    if (limit !== undefined && size > limit) {
      throw new LilypadError(
        `input "${name}" is too large: ${path} has ${size} bytes, at most ${limit} (maxBytes ${limit})`,
      );
    }
    const cid = await importPath(blockstore, path).catch((error: unknown) => {
      throw new LilypadError(`input "${name}": cannot read ${path}`, { cause: error });
    });
    inputs[name] = cid.toString();
    roots.push(cid);
  }
  return { inputs, roots };
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

/**
 * Resource provider (and `lilypad module run`): writes every file input into `inputsDir/<Name>` with
 * `fetchTo(cid, target)` (which must verify what it fetches), checks `maxBytes`, and returns the input
 * values the module is started with: `/inputs/<Name>` in place of each CID.
 */
export async function materializeFileInputs(
  manifest: ModuleManifest,
  inputs: Record<string, string>,
  inputsDir: string,
  fetchTo: (cid: CID, target: string) => Promise<void>,
): Promise<Record<string, string>> {
  const values = { ...inputs };
  for (const name of fileInputNames(manifest)) {
    const value = inputs[name];
    if (value === undefined) continue;
    const target = join(inputsDir, name);
    await fetchTo(CID.parse(value), target);
    const limit = manifest.inputs[name]?.maxBytes;
    if (limit !== undefined) {
      const size = await sizeOf(target);
      if (size > limit) {
        throw new LilypadError(
          `input "${name}" is too large: ${size} bytes, at most ${limit} (maxBytes ${limit})`,
        );
      }
    }
    values[name] = `${INPUTS_MOUNT}/${name}`;
  }
  return values;
}
