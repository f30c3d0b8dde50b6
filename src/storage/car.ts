import { CarBufferReader } from '@ipld/car/buffer-reader';
import { close, createWriter, headerLength } from '@ipld/car/buffer-writer';
import { varint } from 'multiformats';
import type { CID } from 'multiformats/cid';
import { type Blockstore, blockReader, concat, getBlock } from './blockstore.js';
import { isSupportedCid, RAW_CODE } from './cid.js';
import { type Block, blockLinks, inlineBlock, walkDag } from './dag.js';
import { InvalidCarError, UnsupportedBlockError } from './errors.js';
import { verifyBlock } from './verify.js';

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car';

/** The CARv1 header (a dag-cbor map of version and roots, varint-prefixed). */
export function carHeader(roots: CID[]): Uint8Array {
  return close(createWriter(new ArrayBuffer(headerLength({ roots })), { roots }));
}

/** One CARv1 section: varint(length of CID + bytes), CID, bytes. */
export function carSection({ cid, bytes }: Block): Uint8Array {
  const length = cid.bytes.byteLength + bytes.byteLength;
  const prefix = new Uint8Array(varint.encodingLength(length));
  varint.encodeTo(length, prefix);
  return concat([prefix, cid.bytes, bytes]);
}

/**
 * A CARv1 of the whole DAG under `root`, streamed: root first, depth-first, no duplicates. Written by
 * hand rather than with CarWriter so a consumer that stops early leaves no writer blocked behind it.
 * A missing block throws after the sections before it, so a reader sees a truncated stream, never a
 * short CAR that looks complete.
 */
export async function* carStream(
  blockstore: Blockstore,
  root: CID,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  yield carHeader([root]);
  for await (const block of walkDag(root, blockReader(blockstore), options)) yield carSection(block);
}

/** A CARv1 of every block of the DAG under `root` (dag-pb and raw), root first. */
export async function exportCar(blockstore: Blockstore, root: CID): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of carStream(blockstore, root)) chunks.push(chunk);
  return concat(chunks);
}

/**
 * Imports a CAR: every block's bytes must hash to its CID (BlockVerificationError otherwise), every
 * declared root must be in it, and every DAG under a root must be complete (from the CAR, or already in
 * the store). Nothing is stored unless all of that holds. Returns the roots.
 */
export async function importCar(
  blockstore: Blockstore,
  bytes: Uint8Array,
  options: { maxBytes?: number; onStored?: (block: Block) => void } = {},
): Promise<CID[]> {
  if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
    throw new InvalidCarError(
      `the CAR is ${bytes.byteLength} bytes, more than the limit of ${options.maxBytes}`,
    );
  }
  let reader: CarBufferReader;
  try {
    reader = CarBufferReader.fromBytes(bytes);
  } catch (error) {
    throw new InvalidCarError('the CAR cannot be parsed', {
      details: error instanceof Error ? error.message : undefined,
      cause: error,
    });
  }
  const roots = reader.getRoots();
  if (roots.length === 0) throw new InvalidCarError('the CAR declares no root');

  const blocks = new Map<string, Block>();
  for (const block of reader.blocks()) {
    if (!isSupportedCid(block.cid)) {
      throw new UnsupportedBlockError(
        `the CAR holds block ${block.cid}, which is not dag-pb or raw with sha2-256`,
      );
    }
    await verifyBlock(block.cid, block.bytes);
    blocks.set(block.cid.toString(), block);
  }
  for (const root of roots) {
    if (!blocks.has(root.toString()) && !inlineBlock(root)) {
      throw new InvalidCarError(`the CAR declares root ${root} but does not hold it`);
    }
  }
  await checkComplete(blockstore, roots, blocks);

  for (const { cid, bytes: blockBytes } of blocks.values()) {
    if (await blockstore.has(cid)) continue;
    await blockstore.put(cid, blockBytes);
    options.onStored?.({ cid, bytes: blockBytes });
  }
  return roots;
}

// Walks each root over the CAR's blocks, then the store's: a missing block means an upload that would
// later make a verified fetch fail, so it is refused now.
async function checkComplete(
  blockstore: Blockstore,
  roots: CID[],
  blocks: Map<string, Block>,
): Promise<void> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const cid = stack.pop() as CID;
    const key = cid.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    if (cid.code === RAW_CODE) {
      // Raw leaves have no links; only their presence matters.
      if (blocks.has(key) || inlineBlock(cid) || (await blockstore.has(cid))) continue;
      throw new InvalidCarError(`the CAR is incomplete: block ${cid} is neither in it nor already stored`);
    }
    let bytes = blocks.get(key)?.bytes ?? inlineBlock(cid);
    if (!bytes) {
      if (!(await blockstore.has(cid))) {
        throw new InvalidCarError(`the CAR is incomplete: block ${cid} is neither in it nor already stored`);
      }
      bytes = await getBlock(blockstore, cid);
    }
    for (const link of blockLinks(cid, bytes)) stack.push(link);
  }
}
