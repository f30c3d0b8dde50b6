/**
 * API keys for programs: `lp_` + 32 random bytes, shown once when made; the database keeps its SHA-256
 * and the first characters (to tell keys apart). A revoked key is refused from then on.
 */
import { randomUUID } from 'node:crypto';
import type { WebDatabase } from './database.js';
import { hashToken, randomToken } from './secrets.js';

export const API_KEY_PREFIX = 'lp_';

export type ApiKey = {
  id: string;
  name: string;
  /** The key's first characters, e.g. `lp_a1b2c3d4`. */
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
};

type Row = {
  id: string;
  account_id: string;
  name: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
};

const toKey = (row: Row): ApiKey => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export class ApiKeys {
  readonly #db: WebDatabase;

  constructor(db: WebDatabase) {
    this.#db = db;
  }

  /** Makes a key; the secret is in the answer and nowhere else. */
  create(accountId: string, name: string): ApiKey & { secret: string } {
    const secret = `${API_KEY_PREFIX}${randomToken()}`;
    const row: Row = {
      id: randomUUID(),
      account_id: accountId,
      name,
      prefix: secret.slice(0, API_KEY_PREFIX.length + 8),
      created_at: Date.now(),
      last_used_at: null,
      revoked_at: null,
    };
    this.#db
      .prepare(
        'INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(row.id, accountId, name, row.prefix, hashToken(secret), row.created_at);
    return { ...toKey(row), secret };
  }

  list(accountId: string): ApiKey[] {
    const rows = this.#db
      .prepare('SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at DESC')
      .all(accountId) as Row[];
    return rows.map(toKey);
  }

  /** The account and key of a live key (marking it used), or undefined for an unknown or revoked one. */
  authenticate(secret: string): { accountId: string; keyId: string } | undefined {
    const row = this.#db
      .prepare('SELECT id, account_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL')
      .get(hashToken(secret)) as { id: string; account_id: string } | undefined;
    if (!row) return undefined;
    this.#db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(Date.now(), row.id);
    return { accountId: row.account_id, keyId: row.id };
  }

  /** Revokes one of the account's keys; false when it has no such live key. */
  revoke(accountId: string, id: string): boolean {
    const result = this.#db
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL')
      .run(Date.now(), id, accountId);
    return result.changes > 0;
  }
}
