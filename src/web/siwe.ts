/**
 * Sign-In with Ethereum (EIP-4361): the server hands out a single-use nonce, the wallet signs a message
 * naming this site, and the server checks the message (domain, nonce, time) and the signature.
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

  constructor(db: WebDatabase) {
    this.#db = db;
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
    if (!this.#consume(fields.nonce)) {
      throw new SiweError('the nonce is unknown, used already or expired', {
        hint: 'get a new one from GET /api/v1/auth/siwe/nonce',
      });
    }
    if (!(await verifyMessage({ address: fields.address, message, signature }))) {
      throw new SiweError(`the signature is not ${fields.address}'s`);
    }
    return fields.address;
  }
}
