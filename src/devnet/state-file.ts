/**
 * A running `lilypad devnet` announces itself through `<data dir>/devnet.json`, so that `lilypad run`
 * in another terminal uses it instead of starting an embedded network.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { addressSchema } from '../protocol/wire.js';

const stateSchema = z.object({
  pid: z.number().int(),
  network: z.object({
    chainId: z.number().int(),
    rpcUrl: z.string().url(),
    token: addressSchema,
    deals: addressSchema,
    deployBlock: z.number().int().nonnegative().optional(),
    solver: addressSchema,
    solverUrl: z.string().url(),
    jobs: addressSchema.optional(),
  }),
  mediators: z.array(addressSchema),
});
export type DevnetState = z.output<typeof stateSchema>;

export const devnetStatePath = (dataDir: string) => join(dataDir, 'devnet.json');

export async function writeDevnetState(dataDir: string, state: DevnetState): Promise<void> {
  await writeFile(devnetStatePath(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

export async function removeDevnetState(dataDir: string, pid: number): Promise<void> {
  const current = await readDevnetState(dataDir);
  if (current?.pid === pid) await rm(devnetStatePath(dataDir), { force: true });
}

/** The state of a devnet that is still alive, or undefined (a stale file from a killed devnet is ignored). */
export async function readDevnetState(dataDir: string): Promise<DevnetState | undefined> {
  let text: string;
  try {
    text = await readFile(devnetStatePath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = stateSchema.safeParse(JSON.parse(text));
  if (!parsed.success || !isAlive(parsed.data.pid)) return undefined;
  return parsed.data;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
