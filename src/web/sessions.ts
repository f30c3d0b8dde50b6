/**
 * Browser sessions: a random id in an HttpOnly cookie (stored hashed), with a CSRF token the page sends
 * back in a header on every request that changes something. A cross-site form can carry the cookie but
 * cannot read the token.
 */
import type { WebDatabase } from './database.js';
import { hashToken, randomToken } from './secrets.js';

export const SESSION_COOKIE = 'lilypad_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

export type Session = { accountId: string; csrfToken: string };

export class Sessions {
  readonly #db: WebDatabase;

  constructor(db: WebDatabase) {
    this.#db = db;
  }

  /** Starts a session: the id goes into the cookie, only its hash into the database. */
  create(accountId: string): { id: string; csrfToken: string } {
    const id = randomToken();
    const csrfToken = randomToken();
    this.#db
      .prepare('INSERT INTO sessions (id_hash, account_id, csrf_token, expires_at) VALUES (?, ?, ?, ?)')
      .run(hashToken(id), accountId, csrfToken, Date.now() + SESSION_TTL_MS);
    return { id, csrfToken };
  }

  find(id: string): Session | undefined {
    const row = this.#db
      .prepare('SELECT account_id, csrf_token, expires_at FROM sessions WHERE id_hash = ?')
      .get(hashToken(id)) as { account_id: string; csrf_token: string; expires_at: number } | undefined;
    if (!row || row.expires_at < Date.now()) return undefined;
    return { accountId: row.account_id, csrfToken: row.csrf_token };
  }

  end(id: string): void {
    this.#db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashToken(id));
  }
}
