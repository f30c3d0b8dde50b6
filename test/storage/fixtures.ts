import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import type { Blockstore } from '../../src/storage/blockstore.js';
import { registerGateway } from '../../src/storage/gateway.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-storage-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic pseudo-random bytes (sha256 in counter mode), so CIDs are stable across runs. */
export function pseudoRandomBytes(length: number, seed = 'lilypad'): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0, counter = 0; offset < length; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    offset += block.length;
  }
  return out;
}

/**
 * A result-bundle-like folder: small files, an empty file, a 1.5 MiB file (six chunks), an empty
 * folder, nested folders, and two identical files (shared blocks).
 */
export async function makeFixtureFolder(): Promise<string> {
  const dir = join(await tempDir(), 'bundle');
  await mkdir(join(dir, 'outputs', 'nested', 'deeper'), { recursive: true });
  await mkdir(join(dir, 'outputs', 'empty'), { recursive: true });
  await writeFile(join(dir, 'stdout'), ' ____\n< moo >\n ----\n');
  await writeFile(join(dir, 'stderr'), '');
  await writeFile(join(dir, 'exitCode'), '0\n');
  await writeFile(join(dir, 'outputs', 'big.bin'), pseudoRandomBytes(1.5 * 1024 * 1024));
  await writeFile(join(dir, 'outputs', 'nested', 'a.txt'), 'same\n');
  await writeFile(join(dir, 'outputs', 'nested', 'deeper', 'b.txt'), 'same\n');
  await writeFile(join(dir, 'outputs', 'nested', 'ünïcødé name.txt'), 'names are bytes too\n');
  return dir;
}

/**
 * Every file and folder under `dir` as relative path → sha256 and size of the contents ('dir' for
 * folders); hashes because deep-equality on megabytes of Buffer is slow.
 */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      const childAbs = join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.set(childRel, 'dir');
        await walk(childAbs, childRel);
      } else {
        const bytes = await readFile(childAbs);
        out.set(childRel, `${bytes.length}:${createHash('sha256').update(bytes).digest('hex')}`);
      }
    }
  };
  await walk(dir, '');
  return out;
}

/** A fastify app listening on 127.0.0.1 on a free port, closed after the test. */
export async function listen(app: FastifyInstance): Promise<string> {
  cleanups.push(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** A trustless gateway over `blockstore` on real HTTP; returns its base URL. */
export async function startGateway(blockstore: Blockstore): Promise<string> {
  const app = Fastify();
  await registerGateway(app, blockstore);
  return await listen(app);
}
