/**
 * Accounts: signed up with an email and password, or with an Ethereum address (Sign-In with Ethereum).
 * Each account gets its own job-creator wallet, whose key the server keeps encrypted at rest.
 */
import { randomUUID } from 'node:crypto';
import { type Address, getAddress, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { LilypadError } from '../protocol/errors.js';
import type { WebDatabase } from './database.js';
import { hashPassword, type SecretBox, verifyPassword } from './secrets.js';

export type Account = {
  id: string;
  email: string | null;
  ethAddress: Address | null;
  wallet: Address;
  createdAt: number;
};

export class AccountExistsError extends LilypadError {
  override name = 'AccountExistsError';
}
export class BadCredentialsError extends LilypadError {
  override name = 'BadCredentialsError';
}

type Row = {
  id: string;
  email: string | null;
  password_hash: string | null;
  eth_address: string | null;
  wallet_address: string;
  wallet_key: string;
  created_at: number;
};

const toAccount = (row: Row): Account => ({
  id: row.id,
  email: row.email,
  ethAddress: row.eth_address ? getAddress(row.eth_address) : null,
  wallet: getAddress(row.wallet_address),
  createdAt: row.created_at,
});

export class Accounts {
  readonly #db: WebDatabase;
  readonly #box: SecretBox;

  constructor(db: WebDatabase, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  #insert(fields: { email?: string; passwordHash?: string; ethAddress?: Address }): Account {
    const key = generatePrivateKey();
    const row: Row = {
      id: randomUUID(),
      email: fields.email ?? null,
      password_hash: fields.passwordHash ?? null,
      eth_address: fields.ethAddress?.toLowerCase() ?? null,
      wallet_address: privateKeyToAccount(key).address,
      wallet_key: this.#box.seal(key),
      created_at: Date.now(),
    };
    this.#db
      .prepare(
        `INSERT INTO accounts (id, email, password_hash, eth_address, wallet_address, wallet_key, created_at)
         VALUES (@id, @email, @password_hash, @eth_address, @wallet_address, @wallet_key, @created_at)`,
      )
      .run(row);
    return toAccount(row);
  }

  async signUp(email: string, password: string): Promise<Account> {
    const normalized = email.trim().toLowerCase();
    if (this.#db.prepare('SELECT 1 FROM accounts WHERE email = ?').get(normalized)) {
      throw new AccountExistsError(`an account with the email ${normalized} exists already`, {
        hint: 'sign in instead',
      });
    }
    return this.#insert({ email: normalized, passwordHash: await hashPassword(password) });
  }

  async signIn(email: string, password: string): Promise<Account> {
    const row = this.#db.prepare('SELECT * FROM accounts WHERE email = ?').get(email.trim().toLowerCase()) as
      | Row
      | undefined;
    // The same answer for an unknown email and a wrong password: it does not tell who has an account.
    if (!row?.password_hash || !(await verifyPassword(password, row.password_hash))) {
      throw new BadCredentialsError('wrong email or password');
    }
    return toAccount(row);
  }

  /** The account of an Ethereum address, made on its first sign-in. */
  forEthAddress(address: Address): { account: Account; created: boolean } {
    const row = this.#db.prepare('SELECT * FROM accounts WHERE eth_address = ?').get(address.toLowerCase()) as
      | Row
      | undefined;
    if (row) return { account: toAccount(row), created: false };
    return { account: this.#insert({ ethAddress: address }), created: true };
  }

  get(id: string): Account | undefined {
    const row = this.#db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined;
    return row && toAccount(row);
  }

  /** The account's job-creator key, decrypted for signing. Never logged, never sent. */
  walletKey(id: string): Hex {
    const row = this.#db.prepare('SELECT wallet_key FROM accounts WHERE id = ?').get(id) as
      | { wallet_key: string }
      | undefined;
    if (!row) throw new LilypadError(`no account ${id}`);
    return this.#box.open(row.wallet_key) as Hex;
  }
}
