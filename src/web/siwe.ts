/**
 * Sign-In with Ethereum (EIP-4361): the server hands out a single-use nonce, the wallet signs a message
 * naming this site, and the server checks the message (domain, chain, time), the signature, and only then uses up the nonce.
 */
import { type Address, type Hex, verifyMessage } from 'viem';
import { generateSiweNonce, parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import { LilypadError } from '../protocol/errors.js';
import type { WebDatabase } from './database.js';

const NONCE_TTL_MS = 10 * 60 * 1000;

export class SiweError extends LilypadError {
  override name = 'SiweError';
}

export class SiweNonces {
  readonly #db: WebDatabase;
  readonly #chainId: number;

  constructor(db: WebDatabase, chainId: number) {
    this.#db = db;
    this.#chainId = chainId;
  }

  issue(): string {
    const nonce = generateSiweNonce();
    const now = Date.now();
    this.#db.prepare('DELETE FROM siwe_nonces WHERE expires_at < ?').run(now);
    this.#db
      .prepare('INSERT INTO siwe_nonces (nonce, expires_at) VALUES (?, ?)')
      .run(nonce, now + NONCE_TTL_MS);
    return nonce;
  }

  /** Uses up the nonce; false if it was never issued, is used already or has expired. */
  #consume(nonce: string): boolean {
    const result = this.#db
      .prepare('DELETE FROM siwe_nonces WHERE nonce = ? AND expires_at >= ?')
      .run(nonce, Date.now());
    return result.changes > 0;
  }

  /** The address that signed `message` for `domain` (host[:port]), or a SiweError that says what is wrong. */
  async verify(message: string, signature: Hex, domain: string): Promise<Address> {
    const fields = parseSiweMessage(message);
    if (!fields.address || !fields.nonce)
      throw new SiweError('the message is not an EIP-4361 sign-in message (no address or nonce)');
    if (!validateSiweMessage({ message: fields, domain })) {
      throw new SiweError(`the message is not valid for ${domain} now`, {
        hint: `sign a message whose domain is ${domain}, with a current time window`,
      });
    }
    if (fields.chainId !== this.#chainId) {
      throw new SiweError(
        `the message is for chain ${fields.chainId}; this app is on chain ${this.#chainId}`,
        {
          hint: `sign a message with Chain ID: ${this.#chainId}`,
        },
      );
    }
    // The signature before the nonce: a message signed by someone else must not use up the nonce.
    const signed = await verifyMessage({ address: fields.address, message, signature }).catch(() => false);
    if (!signed) {
      throw new SiweError(`the signature is not ${fields.address}'s`);
    }
    if (!this.#consume(fields.nonce)) {
      throw new SiweError('the nonce is unknown, used already or expired', {
        hint: 'get a new one from GET /api/v1/auth/siwe/nonce',
      });
    }
    return fields.address;
  }
}
