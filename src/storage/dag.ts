import * as dagPb from '@ipld/dag-pb';
import type { CID } from 'multiformats/cid';
import type { GetBlock } from './blockstore.js';
import { DAG_PB_CODE, IDENTITY_CODE, RAW_CODE } from './cid.js';
import { BlockVerificationError, UnsupportedBlockError } from './errors.js';

export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

/** The CIDs a block links to, in link order: dag-pb links; raw leaves have none. */
export function blockLinks(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === RAW_CODE) return [];
  if (cid.code !== DAG_PB_CODE) {
    throw new UnsupportedBlockError(
      `block ${cid} has codec 0x${cid.code.toString(16)}; only dag-pb and raw are walked`,
    );
  }
  let node: dagPb.PBNode;
  try {
    node = dagPb.decode(bytes);
  } catch (error) {
    throw new BlockVerificationError(cid.toString(), 'it is not valid dag-pb', { cause: error });
  }
  return node.Links.map((link) => link.Hash);
}

/** An identity CID carries its block inline: no store or network needed. */
export function inlineBlock(cid: CID): Uint8Array | undefined {
  return cid.multihash.code === IDENTITY_CODE ? cid.multihash.digest : undefined;
}

/**
 * Every block of the DAG under `root`, depth-first in link order, root first, each once: the order
 * of a trustless gateway's `order=dfs; dups=n` CAR. Blocks are read one at a time, so memory stays flat.
 */
export async function* walkDag(
  root: CID,
  getBlock: GetBlock,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Block, void, undefined> {
  const seen = new Set<string>();
  const stack: CID[] = [root];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const cid = stack.pop() as CID;
    const key = cid.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    const bytes = inlineBlock(cid) ?? (await getBlock(cid, options));
    const links = blockLinks(cid, bytes);
    yield { cid, bytes };
    for (let i = links.length - 1; i >= 0; i--) {
      const link = links[i] as CID;
      if (!seen.has(link.toString())) stack.push(link);
    }
  }
}
