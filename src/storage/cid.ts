import * as dagPb from '@ipld/dag-pb';
import type { MultibaseDecoder } from 'multiformats/bases/interface';
import { bases } from 'multiformats/basics';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { identity } from 'multiformats/hashes/identity';
import { sha256 } from 'multiformats/hashes/sha2';
import { UnsupportedBlockError } from './errors.js';

export const RAW_CODE = raw.code;
export const DAG_PB_CODE = dagPb.code;
export const SHA2_256_CODE = sha256.code;
export const IDENTITY_CODE = identity.code;

// Every multibase multiformats knows, so a CID written in base36 or base58 parses as well as base32.
const anyBase: MultibaseDecoder<string> = {
  decode(text) {
    const base = Object.values(bases).find((candidate) => text.startsWith(candidate.prefix));
    if (!base) throw new Error(`unknown multibase prefix "${text.slice(0, 1)}"`);
    return base.decoder.decode(text);
  },
};

/** Parses a CID in any multibase (or a CIDv0); throws UnsupportedBlockError with the reason otherwise. */
export function parseCid(value: CID | string): CID {
  if (typeof value !== 'string') return value;
  try {
    // CIDv0 ("Qm…") has no multibase prefix; CID.parse handles it without a decoder.
    return value.startsWith('Q') ? CID.parse(value) : CID.parse(value, anyBase);
  } catch (error) {
    throw new UnsupportedBlockError(`"${value}" is not a valid CID`, {
      details: error instanceof Error ? error.message : undefined,
    });
  }
}

/** Whether this store can walk blocks of this CID: dag-pb or raw, sha2-256 (or inline identity). */
export function isSupportedCid(cid: CID): boolean {
  return (
    (cid.code === DAG_PB_CODE || cid.code === RAW_CODE) &&
    (cid.multihash.code === SHA2_256_CODE || cid.multihash.code === IDENTITY_CODE)
  );
}
