import { join } from 'node:path';
import { CarBlockIterator, CarWriter } from '@ipld/car';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { describe, expect, it } from 'vitest';
import { LilypadError } from '../../src/protocol/errors.js';
import {
  type Blockstore,
  blockReader,
  memoryBlockstore,
  openBlockstore,
} from '../../src/storage/blockstore.js';
import { carHeader, carSection, exportCar, importCar } from '../../src/storage/car.js';
import { walkDag } from '../../src/storage/dag.js';
import { BlockVerificationError, InvalidCarError } from '../../src/storage/errors.js';
import { exportFolder, importBytes, importFolder } from '../../src/storage/unixfs.js';
import { makeFixtureFolder, snapshot, tempDir } from './fixtures.js';

async function blocksOf(
  car: Uint8Array,
): Promise<{ roots: CID[]; blocks: { cid: CID; bytes: Uint8Array }[] }> {
  const iterator = await CarBlockIterator.fromBytes(car);
  const blocks = [];
  for await (const block of iterator) blocks.push(block);
  return { roots: await iterator.getRoots(), blocks };
}

async function storedCount(blockstore: Blockstore, cids: CID[]): Promise<number> {
  let count = 0;
  for (const cid of cids) if (await blockstore.has(cid)) count++;
  return count;
}

describe('CAR export and import', () => {
  it('round-trips a folder: importFolder → exportCar → importCar → exportFolder, byte for byte', async () => {
    const dir = await makeFixtureFolder();
    const source = memoryBlockstore();
    const root = await importFolder(source, dir);
    const car = await exportCar(source, root);

    const target = await openBlockstore(join(await tempDir(), 'blocks'));
    const roots = await importCar(target, car);
    expect(roots.map(String)).toEqual([root.toString()]);
    const out = join(await tempDir(), 'out');
    await exportFolder(target, root, out);
    expect(await snapshot(out)).toEqual(await snapshot(dir));
  });

  it('writes the root first, each block once, in depth-first order, as @ipld/car would', async () => {
    const dir = await makeFixtureFolder();
    const blockstore = memoryBlockstore();
    const root = await importFolder(blockstore, dir);
    const car = await exportCar(blockstore, root);
    const { roots, blocks } = await blocksOf(car);
    expect(roots.map(String)).toEqual([root.toString()]);
    expect(blocks[0]?.cid.toString()).toBe(root.toString());
    const keys = blocks.map((b) => b.cid.toString());
    expect(new Set(keys).size).toBe(keys.length);
    const walked = [];
    for await (const block of walkDag(root, blockReader(blockstore))) walked.push(block.cid.toString());
    expect(keys).toEqual(walked);
    // Byte-identical to CarWriter given the same blocks: the hand-written encoder is plain CARv1.
    const { writer, out } = CarWriter.create([root]);
    const collected = (async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of out) chunks.push(chunk);
      return Buffer.concat(chunks);
    })();
    for (const block of blocks) await writer.put(block);
    await writer.close();
    expect(Buffer.from(car).equals(await collected)).toBe(true);
  });

  it('rejects a CAR whose block bytes do not match its CID, and stores nothing from it', async () => {
    const dir = await makeFixtureFolder();
    const source = memoryBlockstore();
    const root = await importFolder(source, dir);
    const { blocks } = await blocksOf(await exportCar(source, root));
    const victim = blocks.find((b) => b.cid.code === raw.code && b.bytes.length > 100);
    if (!victim) throw new Error('no leaf to corrupt');
    const tampered = blocks.map((b) => {
      if (b !== victim) return b;
      const bytes = Uint8Array.from(b.bytes);
      bytes[7] = (bytes[7] ?? 0) ^ 0xff;
      return { cid: b.cid, bytes };
    });
    const car = Buffer.concat([carHeader([root]), ...tampered.map(carSection)]);
    const target = memoryBlockstore();
    const error = await importCar(target, car).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlockVerificationError);
    expect(error).toBeInstanceOf(LilypadError);
    expect((error as BlockVerificationError).cid).toBe(victim.cid.toString());
    expect((error as Error).message).toContain(victim.cid.toString());
    expect(
      await storedCount(
        target,
        blocks.map((b) => b.cid),
      ),
    ).toBe(0);
  });

  it('rejects a CAR that does not hold its declared root', async () => {
    const blockstore = memoryBlockstore();
    const present = await importBytes(blockstore, new TextEncoder().encode('present\n'));
    const absent = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('absent\n')));
    const car = Buffer.concat([
      carHeader([present, absent]),
      carSection({ cid: present, bytes: Buffer.from('present\n') }),
    ]);
    await expect(importCar(memoryBlockstore(), car)).rejects.toThrow(InvalidCarError);
    await expect(importCar(memoryBlockstore(), car)).rejects.toThrow(/declares root .* but does not hold it/);
  });

  it('rejects a CAR whose DAG is incomplete', async () => {
    const dir = await makeFixtureFolder();
    const source = memoryBlockstore();
    const root = await importFolder(source, dir);
    const { blocks } = await blocksOf(await exportCar(source, root));
    const car = Buffer.concat([carHeader([root]), ...blocks.slice(0, -1).map(carSection)]);
    const target = memoryBlockstore();
    await expect(importCar(target, car)).rejects.toThrow(/incomplete/);
    expect(
      await storedCount(
        target,
        blocks.map((b) => b.cid),
      ),
    ).toBe(0);
    // The same CAR completes a DAG whose missing block the store already has.
    const last = blocks.at(-1);
    if (!last) throw new Error('no blocks');
    await target.put(last.cid, last.bytes);
    expect((await importCar(target, car)).map(String)).toEqual([root.toString()]);
  });

  it('rejects bytes that are not a CAR, and a CAR over the size limit', async () => {
    await expect(importCar(memoryBlockstore(), new TextEncoder().encode('not a car at all'))).rejects.toThrow(
      InvalidCarError,
    );
    const blockstore = memoryBlockstore();
    const root = await importBytes(blockstore, new Uint8Array(5000));
    const car = await exportCar(blockstore, root);
    await expect(importCar(memoryBlockstore(), car, { maxBytes: 1000 })).rejects.toThrow(
      /more than the limit/,
    );
    expect((await importCar(memoryBlockstore(), car, { maxBytes: car.byteLength })).map(String)).toEqual([
      root.toString(),
    ]);
  });

  it('rejects a truncated CAR', async () => {
    const blockstore = memoryBlockstore();
    const root = await importBytes(blockstore, new Uint8Array(5000).fill(7));
    const car = await exportCar(blockstore, root);
    await expect(importCar(memoryBlockstore(), car.subarray(0, car.length - 10))).rejects.toThrow(
      InvalidCarError,
    );
  });
});
