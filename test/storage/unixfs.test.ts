import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';
import { describe, expect, it } from 'vitest';
import { getBlock, memoryBlockstore, openBlockstore } from '../../src/storage/blockstore.js';
import { UnsafePathError } from '../../src/storage/errors.js';
import {
  exportFolder,
  folderCid,
  importBytes,
  importFolder,
  UNIXFS_PARAMETERS,
} from '../../src/storage/unixfs.js';
import { makeFixtureFolder, pseudoRandomBytes, snapshot, tempDir } from './fixtures.js';

describe('UnixFS import', () => {
  it('gives the known CIDv1 raw-leaf CID for "hello world\\n", computed independently', async () => {
    const bytes = new TextEncoder().encode('hello world\n');
    const digest = createHash('sha256').update(bytes).digest();
    const expected = CID.createV1(0x55, Digest.create(0x12, digest));
    expect(expected.toString()).toBe('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
    const cid = await importBytes(memoryBlockstore(), bytes);
    expect(cid.toString()).toBe('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
  });

  it('gives the well-known CID of an empty folder (QmUNLL… as CIDv1)', async () => {
    const dir = join(await tempDir(), 'empty');
    await mkdir(dir);
    const cid = await folderCid(dir);
    expect(cid.toString()).toBe(
      CID.parse('QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn').toV1().toString(),
    );
    expect(cid.toString()).toBe('bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354');
  });

  it('derives the same CID from the same folder, in any blockstore, and folderCid agrees', async () => {
    const dir = await makeFixtureFolder();
    const first = await importFolder(memoryBlockstore(), dir);
    const again = await importFolder(memoryBlockstore(), dir);
    const onDisk = await importFolder(await openBlockstore(join(await tempDir(), 'blocks')), dir);
    expect(again.equals(first)).toBe(true);
    expect(onDisk.equals(first)).toBe(true);
    expect((await folderCid(dir)).equals(first)).toBe(true);
    expect(first.version).toBe(1);
    expect(first.code).toBe(dagPb.code);
    expect(first.multihash.code).toBe(sha256.code);
  });

  it('changes the CID when one byte changes', async () => {
    const dir = await makeFixtureFolder();
    const before = await folderCid(dir);
    await writeFile(join(dir, 'exitCode'), '1\n');
    expect((await folderCid(dir)).equals(before)).toBe(false);
  });

  it('chunks a large file into 256 KiB raw leaves under one balanced dag-pb node', async () => {
    const blockstore = memoryBlockstore();
    const bytes = pseudoRandomBytes(1.5 * 1024 * 1024);
    const cid = await importBytes(blockstore, bytes);
    expect(cid.code).toBe(dagPb.code);
    const node = dagPb.decode(await getBlock(blockstore, cid));
    expect(node.Links).toHaveLength(6);
    for (const link of node.Links) {
      expect(link.Hash.code).toBe(0x55);
      expect(link.Tsize).toBe(UNIXFS_PARAMETERS.chunkSize);
    }
  });

  it('round-trips nested folders and a multi-chunk file byte for byte', async () => {
    const dir = await makeFixtureFolder();
    const blockstore = memoryBlockstore();
    const cid = await importFolder(blockstore, dir);
    const out = join(await tempDir(), 'out');
    await exportFolder(blockstore, cid, out);
    expect(await snapshot(out)).toEqual(await snapshot(dir));
  });

  it('refuses to import a symbolic link', async () => {
    const dir = await makeFixtureFolder();
    await symlink('/etc/passwd', join(dir, 'outputs', 'passwd'));
    await expect(importFolder(memoryBlockstore(), dir)).rejects.toBeInstanceOf(UnsafePathError);
  });

  it.each(['..', '../evil', 'a/b', '.', ''])('refuses to export an entry named %j', async (name) => {
    const blockstore = memoryBlockstore();
    const file = await importBytes(blockstore, new TextEncoder().encode('pwned\n'));
    // A UnixFS directory node (Data = Type: Directory) built by hand with a hostile link name.
    const bytes = dagPb.encode(
      dagPb.prepare({ Data: Uint8Array.of(0x08, 0x01), Links: [{ Name: name, Hash: file, Tsize: 6 }] }),
    );
    const dirCid = CID.createV1(dagPb.code, await sha256.digest(bytes));
    await blockstore.put(dirCid, bytes);
    const parent = await tempDir();
    const out = join(parent, 'out');
    await expect(exportFolder(blockstore, dirCid, out)).rejects.toBeInstanceOf(UnsafePathError);
    expect(existsSync(join(parent, 'evil'))).toBe(false);
    expect(await readdir(parent)).toEqual(['out']);
    expect(await readdir(out)).toEqual([]);
  });

  it('refuses to export a file CID as a folder', async () => {
    const blockstore = memoryBlockstore();
    const cid = await importBytes(blockstore, new TextEncoder().encode('just a file\n'));
    await expect(exportFolder(blockstore, cid, join(await tempDir(), 'out'))).rejects.toThrow(/not a folder/);
  });
});
