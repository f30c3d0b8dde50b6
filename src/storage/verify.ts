import { equals } from 'multiformats/bytes';
import type { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { IDENTITY_CODE, SHA2_256_CODE } from './cid.js';
import { BlockVerificationError } from './errors.js';

/**
 * Throws BlockVerificationError unless `bytes` hash to `cid`'s multihash. Only sha2-256 (and identity,
 * where the bytes are the digest) are accepted: a hash we cannot check is treated as a failed check.
 */
export async function verifyBlock(cid: CID, bytes: Uint8Array): Promise<void> {
  const { code, digest } = cid.multihash;
  if (code === IDENTITY_CODE) {
    if (!equals(digest, bytes))
      throw new BlockVerificationError(cid.toString(), 'bytes differ from the inline data');
    return;
  }
  if (code !== SHA2_256_CODE) {
    throw new BlockVerificationError(cid.toString(), `unsupported hash function 0x${code.toString(16)}`, {
      hint: 'only sha2-256 CIDs are accepted',
    });
  }
  const actual = await sha256.digest(bytes);
  if (!equals(actual.digest, digest)) {
    throw new BlockVerificationError(
      cid.toString(),
      `its ${bytes.byteLength} bytes hash to a different sha2-256`,
    );
  }
}
