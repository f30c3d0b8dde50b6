import { MemoryBlockstore } from 'blockstore-core/memory';
import { FsBlockstore } from 'blockstore-fs';
import type { Blockstore } from 'interface-blockstore';
import type { CID } from 'multiformats/cid';
import { BlockNotFoundError } from './errors.js';

export type { Blockstore };

/** Reads one block: what walkers and fetchers are given, so they need not know the store. */
export type GetBlock = (cid: CID, options?: { signal?: AbortSignal }) => Promise<Uint8Array>;

/**
 * FsBlockstore writes a block through a temp file named after the block, then renames it. Two puts of
 * the same block at once (identical files in one folder, imported in parallel) share that temp file:
 * one rename fails and is retried 10 × 100 ms, and a reader can briefly see the block truncated. Blocks
 * are immutable, so a block already stored, or being stored, is not written again.
 */
class DedupingFsBlockstore extends FsBlockstore {
  readonly #writing = new Map<string, Promise<CID>>();

  override async put(
    key: CID,
    value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: { signal?: AbortSignal },
  ): Promise<CID> {
    const id = Buffer.from(key.multihash.bytes).toString('hex');
    const pending = this.#writing.get(id);
    if (pending) return await pending;
    const write = (async () => {
      if (!(await this.has(key, options))) await super.put(key, value, options);
      return key;
    })();
    this.#writing.set(id, write);
    try {
      return await write;
    } finally {
      this.#writing.delete(id);
    }
  }
}

/** A blockstore on disk under `dir` (created if missing), one file per block, writes atomic (temp + rename). */
export async function openBlockstore(dir: string): Promise<Blockstore> {
  const blockstore = new DedupingFsBlockstore(dir);
  await blockstore.open();
  return blockstore;
}

/** A blockstore in memory, for tests and throwaway imports. */
export function memoryBlockstore(): Blockstore {
  return new MemoryBlockstore();
}

/**
 * The whole block as one Uint8Array. interface-blockstore 7 returns a (possibly async) generator of
 * chunks from `get`, and fails lazily while iterating; this turns both into plain semantics.
 */
export async function getBlock(
  blockstore: Blockstore,
  cid: CID,
  options: { signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of blockstore.get(cid, options)) chunks.push(chunk);
  } catch (error) {
    options.signal?.throwIfAborted();
    if ((error as { name?: string }).name === 'NotFoundError') throw new BlockNotFoundError(cid.toString());
    throw error;
  }
  return concat(chunks);
}

/** `getBlock` bound to one store, in the shape walkers take. */
export function blockReader(blockstore: Blockstore): GetBlock {
  return (cid, options) => getBlock(blockstore, cid, options);
}

export async function hasBlock(blockstore: Blockstore, cid: CID): Promise<boolean> {
  return await blockstore.has(cid);
}

export async function putBlock(blockstore: Blockstore, cid: CID, bytes: Uint8Array): Promise<void> {
  await blockstore.put(cid, bytes);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
