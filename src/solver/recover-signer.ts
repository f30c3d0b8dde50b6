/**
 * Who signed a 32-byte hash: secp256k1 public key recovery, then the address (the last 20 bytes of the
 * key's keccak). The solver does this for every offer and deal signature it takes, on the request's
 * path, so it uses libsecp256k1 compiled to WebAssembly (tiny-secp256k1: about twenty times faster
 * than pure JavaScript), synchronously, with the hash it has already computed.
 * test/solver/recover-signer.test.ts checks it against viem, good signatures and bad.
 */
import { recover } from 'tiny-secp256k1';
import type { Address, Hex } from 'viem';
import { keccak256 } from './keccak256.js';

const HEX = '0123456789abcdef';
const HASH = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/** The signer of `hash` (in lower case), or undefined when `signature` (65 bytes: r, s, v) recovers no key. */
export function recoverSigner(hash: Hex, signature: Hex): Address | undefined {
  if (!SIGNATURE.test(signature) || !HASH.test(hash)) return undefined;
  const v = Number.parseInt(signature.slice(130), 16);
  // As viem reads it: 0/1 is the y parity itself, 27/28 the legacy encoding of it.
  const recovery = v === 0 || v === 27 ? 0 : v === 1 || v === 28 ? 1 : undefined;
  if (recovery === undefined) return undefined;
  let key: Uint8Array | null;
  try {
    key = recover(Buffer.from(hash.slice(2), 'hex'), Buffer.from(signature.slice(2, 130), 'hex'), recovery);
  } catch {
    return undefined; // r or s out of range, or r not the x of a point
  }
  if (!key) return undefined;
  const digest = keccak256(key.subarray(1));
  let address = '0x';
  for (let i = 12; i < 32; i++) {
    const byte = digest[i] as number;
    address += (HEX[byte >> 4] as string) + (HEX[byte & 15] as string);
  }
  return address as Address;
}
