import { LilypadError } from '../protocol/errors.js';

/** A block's bytes do not hash to its CID (or use a hash we cannot check): the source lied or is broken. */
export class BlockVerificationError extends LilypadError {
  override name = 'BlockVerificationError';
  readonly cid: string;

  constructor(
    cid: string,
    message: string,
    options: { details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(`block ${cid} failed verification: ${message}`, options);
    this.cid = cid;
  }
}

/** A block that is not in the store (or not on the gateway). */
export class BlockNotFoundError extends LilypadError {
  override name = 'BlockNotFoundError';
  readonly cid: string;

  constructor(cid: string, options: { details?: string; hint?: string; cause?: unknown } = {}) {
    super(`block ${cid} not found`, options);
    this.cid = cid;
  }
}

/** A block whose codec or hash function this store does not handle (only dag-pb and raw, sha2-256). */
export class UnsupportedBlockError extends LilypadError {
  override name = 'UnsupportedBlockError';
}

/** A CAR that cannot be parsed, is too large, lacks its roots or does not hold the whole DAG. */
export class InvalidCarError extends LilypadError {
  override name = 'InvalidCarError';
}

/** A name in a DAG that would write outside the destination folder, or a file we refuse to import. */
export class UnsafePathError extends LilypadError {
  override name = 'UnsafePathError';
}

/** A gateway that did not answer a block request properly (HTTP error, oversized body, network). */
export class GatewayFetchError extends LilypadError {
  override name = 'GatewayFetchError';
}
