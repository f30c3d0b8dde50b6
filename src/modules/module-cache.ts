/**
 * Modules fetched from elsewhere (the directory, a git repository, a registry index) are kept by CID,
 * `<cache>/<cid>/`, so a module is fetched once and what is kept is exactly what its id names. Beside
 * them, `pins.json` remembers which CID a moving reference (a git tag) resolved to the first time: a
 * tag that later points at other content is reported, never silently followed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LilypadError } from '../protocol/errors.js';
import { memoryBlockstore } from '../storage/blockstore.js';
import { folderCid } from '../storage/unixfs.js';
import { downloadFolder } from '../storage/verified-fetch.js';

export const PINS_FILE = 'pins.json';

export class ModuleMovedError extends LilypadError {
  override name = 'ModuleMovedError';
}

/** `<cache>/<cid>` when that module is cached. */
export function cachedModule(cacheDir: string, cid: string): string | undefined {
  const dir = join(cacheDir, cid);
  return existsSync(dir) ? dir : undefined;
}

/** Moves (or copies) a finished folder into the cache under its CID; returns the CID and where it is. */
export async function cacheFolder(
  cacheDir: string,
  source: string,
  { move }: { move: boolean },
): Promise<{ cid: string; dir: string }> {
  const cid = (await folderCid(source)).toString();
  const dir = join(cacheDir, cid);
  if (!existsSync(dir)) {
    await mkdir(cacheDir, { recursive: true });
    const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
    if (move) await rename(source, partial);
    else await cp(source, partial, { recursive: true });
    await rename(partial, dir).catch(async (error: unknown) => {
      // Someone else cached the same CID meanwhile: same bytes, keep theirs.
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(dir)) throw error;
    });
  } else if (move) {
    await rm(source, { recursive: true, force: true });
  }
  return { cid, dir };
}

/** The module `cid` from a trustless gateway (the directory), every block verified, kept in the cache. */
export async function fetchModule(
  gatewayUrl: string,
  cid: string,
  cacheDir: string,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const cached = cachedModule(cacheDir, cid);
  if (cached) return cached;
  const dir = join(cacheDir, cid);
  const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(cacheDir, { recursive: true });
  try {
    await downloadFolder(gatewayUrl, cid, memoryBlockstore(), partial, options);
    await rename(partial, dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    if (existsSync(dir)) return dir;
    throw error;
  }
  return dir;
}

const pinsSchema = z.record(z.string(), z.strictObject({ cid: z.string(), commit: z.string() }));
export type Pin = z.infer<typeof pinsSchema>[string];

async function readPins(cacheDir: string): Promise<Record<string, Pin>> {
  const file = join(cacheDir, PINS_FILE);
  if (!existsSync(file)) return {};
  const parsed = pinsSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success)
    throw new LilypadError(`${file} is not a pins file`, { hint: 'delete it to start over' });
  return parsed.data;
}

/** What `ref` was pinned to the first time it was resolved, if it was. */
export async function pinnedModule(cacheDir: string, ref: string): Promise<Pin | undefined> {
  return (await readPins(cacheDir))[ref];
}

/**
 * Pins `ref` to `pin` the first time; later, the same content passes and other content is a
 * ModuleMovedError naming both CIDs.
 */
export async function checkPin(cacheDir: string, ref: string, pin: Pin): Promise<void> {
  const pins = await readPins(cacheDir);
  const known = pins[ref];
  if (known && known.cid !== pin.cid) {
    throw new ModuleMovedError(
      `module ${ref} moved: it was ${known.cid} (commit ${known.commit}) and is now ${pin.cid} (commit ${pin.commit})`,
      {
        hint:
          `run the old one by its CID (lilypad run ${known.cid}), or, if you trust the new content, ` +
          `remove "${ref}" from ${join(cacheDir, PINS_FILE)}`,
      },
    );
  }
  if (known) return;
  pins[ref] = pin;
  await mkdir(cacheDir, { recursive: true });
  const file = join(cacheDir, PINS_FILE);
  const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
  await writeFile(partial, `${JSON.stringify(pins, null, 2)}\n`);
  await rename(partial, file);
}
