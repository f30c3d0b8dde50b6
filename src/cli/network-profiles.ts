/**
 * Network profiles: `<data dir>/networks/<name>.json`, one per deployment (written by `lilypad deploy`, or by
 * hand), chosen with `--network NAME`. A profile names the chain and its contracts, and optionally the solver
 * whose URL clients then read from the chain. The name `devnet` is the local devnet and needs no file.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LilypadError } from '../protocol/errors.js';
import { addressSchema, describeIssues } from '../protocol/wire.js';

/** The built-in name of the local devnet (a running `lilypad devnet`, or one embedded in `lilypad run`). */
export const DEVNET = 'devnet';

const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64')
  .refine((name) => name !== DEVNET, `"${DEVNET}" is the local devnet's name`);

export const networkProfileSchema = z.object({
  chainId: z.number().int().positive(),
  rpcUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) JSON-RPC URL' }),
  token: addressSchema,
  deals: addressSchema,
  /** The block the deal contract was deployed in: the solver reads the chain's events from there (else from 0). */
  deployBlock: z.number().int().nonnegative().optional(),
  /** The solver clients use by default; its URL is read from the users' registry. */
  solver: addressSchema.optional(),
  /** The jobs contract (LilypadJobs) that `lilypad bridge` serves, if one is deployed. */
  jobs: addressSchema.optional(),
});
export type NetworkProfile = z.output<typeof networkProfileSchema> & { name: string };

export const networksDir = (dataDir: string) => join(dataDir, 'networks');
export const profilePath = (dataDir: string, name: string) => join(networksDir(dataDir), `${name}.json`);

/** Checks a name given for a new profile. */
export function checkProfileName(name: string): string {
  const parsed = nameSchema.safeParse(name);
  if (!parsed.success) {
    throw new LilypadError(`"${name}" cannot name a network: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

/** The names of the profiles in `<data dir>/networks/`, sorted. */
export async function listProfiles(dataDir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(networksDir(dataDir));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Reads and validates a profile; an unknown name is an error that lists the known ones. */
export async function readProfile(dataDir: string, name: string): Promise<NetworkProfile> {
  const path = profilePath(dataDir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    const known = [...(await listProfiles(dataDir)), `${DEVNET} (the local devnet)`];
    throw new LilypadError(`no network profile named "${name}"`, {
      details: `known networks: ${known.join(', ')} (profiles are in ${networksDir(dataDir)})`,
      hint: `create it with \`lilypad deploy --rpc URL --name ${name}\`, or copy a profile file there`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new LilypadError(`the network profile ${path} is not JSON`, { cause });
  }
  const parsed = networkProfileSchema.safeParse(json);
  if (!parsed.success) {
    throw new LilypadError(`the network profile ${path} is invalid`, {
      details: describeIssues(parsed.error),
      hint: 'fields: chainId, rpcUrl, token, deals, and optionally deployBlock, solver and jobs',
    });
  }
  return { name, ...parsed.data };
}

/** Writes a profile; refuses to replace an existing one unless `overwrite`. */
export async function writeProfile(
  dataDir: string,
  profile: NetworkProfile,
  options: { overwrite?: boolean } = {},
): Promise<string> {
  const { name, ...fields } = profile;
  const path = profilePath(dataDir, checkProfileName(name));
  await mkdir(networksDir(dataDir), { recursive: true });
  try {
    await writeFile(path, `${JSON.stringify(fields, null, 2)}\n`, { flag: options.overwrite ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new LilypadError(`a network profile named "${name}" already exists: ${path}`, {
        hint: 'choose another --name, or pass --force to replace it',
      });
    }
    throw error;
  }
  return path;
}
