/**
 * The web app's state: one SQLite file (WAL). Accounts, sessions, API keys and jobs with their events,
 * so a restart loses no account, key or job. Secrets are never stored as they are: passwords as scrypt
 * hashes, session ids and API keys as SHA-256 hashes, wallet keys encrypted with the server secret.
 */
import Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, email TEXT UNIQUE, password_hash TEXT, eth_address TEXT UNIQUE,
  wallet_address TEXT NOT NULL, wallet_key TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), csrf_token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS siwe_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL,
  prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
  last_used_at INTEGER, revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), module TEXT NOT NULL,
  inputs TEXT NOT NULL, status TEXT NOT NULL, job_offer_id TEXT, deal_id TEXT, resource_provider TEXT,
  result_cid TEXT, result_dir TEXT, cost TEXT, error TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_account ON jobs (account_id, created_at);
DROP INDEX IF EXISTS jobs_by_time;
CREATE TABLE IF NOT EXISTS job_events (
  job_id TEXT NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
  at INTEGER NOT NULL, PRIMARY KEY (job_id, seq)
);
`;

export type WebDatabase = Database.Database;

export function openWebDatabase(file: string): WebDatabase {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  return db;
}
