/**
 * The web server's secrets: password hashes (scrypt), token hashes (SHA-256: tokens are random, so a
 * fast hash is enough), random tokens, and wallet keys encrypted at rest (AES-256-GCM under a key derived
 * from the server secret).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { LilypadError } from '../protocol/errors.js';

const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32 };

function scryptAsync(password: string, salt: Buffer, params = SCRYPT): Promise<Buffer> {
  const { N, r, p, keyLength } = params;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, { N, r, p }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, base64url parts: the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    keyLength: expected.length,
  });
  return timingSafeEqual(key, expected);
}

export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Encrypts and decrypts short secrets (wallet keys) under the server secret. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(serverSecret: string) {
    if (serverSecret.length < 32)
      throw new LilypadError('the web server secret is too short', {
        hint: 'use at least 32 random characters (LILYPAD_WEB_SECRET), or let the server make one',
      });
    this.#key = Buffer.from(hkdfSync('sha256', serverSecret, 'lilypad-web', 'wallet-keys', 32));
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined)
      throw new LilypadError('a stored wallet key is not in the expected format');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (cause) {
      throw new LilypadError('cannot decrypt a stored wallet key', {
        cause,
        hint: 'the server secret changed since the account was made; start with the original LILYPAD_WEB_SECRET',
      });
    }
  }
}
