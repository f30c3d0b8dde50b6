import { type Hex, keccak256, recoverAddress, toHex } from 'viem';
import { privateKeyToAccount, sign } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { recoverSigner } from '../../src/solver/recover-signer.js';

const viemSigner = (hash: Hex, signature: Hex) =>
  recoverAddress({ hash, signature }).then(
    (address) => address.toLowerCase(),
    () => undefined,
  );

/** The same signature with its v written as y parity (0/1) instead of 27/28. */
const withParity = (signature: Hex) =>
  `${signature.slice(0, 130)}${(Number.parseInt(signature.slice(130), 16) - 27).toString(16).padStart(2, '0')}` as Hex;

describe('recoverSigner', () => {
  it('recovers the address viem recovers, with v as 27/28 and as 0/1', async () => {
    for (let i = 0; i < 40; i++) {
      const privateKey = keccak256(toHex(`signer ${i}`));
      const hash = keccak256(toHex(`message ${i}`));
      const signature = await sign({ hash, privateKey, to: 'hex' });
      const expected = privateKeyToAccount(privateKey).address.toLowerCase();
      expect(await viemSigner(hash, signature)).toBe(expected);
      expect(recoverSigner(hash, signature)).toBe(expected);
      expect(recoverSigner(hash, withParity(signature))).toBe(expected);
    }
  });

  it('recovers someone else for another hash, and nobody from a signature that is not one', async () => {
    const privateKey = keccak256(toHex('signer'));
    const hash = keccak256(toHex('message'));
    const signature = await sign({ hash, privateKey, to: 'hex' });
    const other = keccak256(toHex('another message'));
    expect(recoverSigner(other, signature)).toBe(await viemSigner(other, signature));
    expect(recoverSigner(other, signature)).not.toBe(privateKeyToAccount(privateKey).address.toLowerCase());

    const n = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'; // the curve order
    const bad: [string, Hex][] = [
      ['v = 2', `${signature.slice(0, 130)}02` as Hex],
      ['v = 29', `${signature.slice(0, 130)}1d` as Hex],
      ['r = 0', `0x${'0'.repeat(64)}${signature.slice(66)}` as Hex],
      ['r = n', `0x${n}${signature.slice(66)}` as Hex],
      ['r not a point', `0x${'0'.repeat(63)}5${signature.slice(66)}` as Hex],
      ['s = n', `${signature.slice(0, 66)}${n}${signature.slice(130)}` as Hex],
      ['64 bytes', signature.slice(0, 130) as Hex],
      ['not hex', `0x${'zz'.repeat(65)}` as Hex],
    ];
    // The same signature with s above n/2 (and the other parity) names the same signer, as for viem.
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130), 16);
    const highS =
      `${signature.slice(0, 66)}${(BigInt(`0x${n}`) - s).toString(16).padStart(64, '0')}${v === 27 ? '1c' : '1b'}` as Hex;
    expect(recoverSigner(hash, highS)).toBe(await viemSigner(hash, highS));
    expect(recoverSigner(hash, highS)).toBe(privateKeyToAccount(privateKey).address.toLowerCase());
    for (const [what, signature] of bad) {
      expect(recoverSigner(hash, signature), what).toBeUndefined();
      expect(await viemSigner(hash, signature), what).toBeUndefined();
    }
  });
});
