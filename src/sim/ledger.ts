/**
 * The simulator's escrow: a mutable store of balances that moves money only through the protocol's reference
 * model (`src/protocol/settlement.ts`), the same functions the contract tests check the contract against.
 *
 * The model is pure: every step copies the ledger it is given. Copying ten thousand balances for each of a few
 * hundred thousand steps would cost minutes, so each step here runs on a small ledger holding only the deal's
 * parties (the model never touches anyone else), and its result is written back. The money is the model's;
 * only the bookkeeping around it is ours. Agents hold their `EscrowAccount`, so a step looks nothing up in
 * the big map of accounts.
 */
import type { Address } from 'viem';
import { type Balance, deposit, type Ledger, type Step, stake, totalHeld } from '../protocol/settlement.js';

/** One account's escrow: the model's balance (replaced, never mutated) and the part of `locked` staked. */
export type EscrowAccount = { readonly key: string; balance: Balance; stake: bigint };

const ZERO: Balance = { free: 0n, locked: 0n };

export class SimLedger {
  readonly #accounts = new Map<string, EscrowAccount>();
  readonly #scratchBalances = new Map<string, Balance>();
  readonly #scratchStakes = new Map<string, bigint>();
  /** Tokens that entered the escrow: what `token.balanceOf(deals)` would be. */
  #held = 0n;

  /** The account of `address` (the model keys accounts by lower-case address). */
  account(address: Address): EscrowAccount {
    const key = address.toLowerCase();
    let account = this.#accounts.get(key);
    if (!account) {
      account = { key, balance: ZERO, stake: 0n };
      this.#accounts.set(key, account);
    }
    return account;
  }

  balanceOf(address: Address): Balance {
    return this.#accounts.get(address.toLowerCase())?.balance ?? ZERO;
  }

  stakeOf(address: Address): bigint {
    return this.#accounts.get(address.toLowerCase())?.stake ?? 0n;
  }

  /** free + locked: what the account owns in the escrow. */
  totalOf(address: Address): bigint {
    const b = this.balanceOf(address);
    return b.free + b.locked;
  }

  get held(): bigint {
    return this.#held;
  }

  deposit(address: Address, amount: bigint): void {
    this.apply([this.account(address)], (ledger) => deposit(ledger, address, amount));
    this.#held += amount;
  }

  stake(mediator: Address, amount: bigint): void {
    this.apply([this.account(mediator)], (ledger) => stake(ledger, mediator, amount));
  }

  /**
   * Runs one step of the model over the accounts it touches (`parties`: every account the step may change) and
   * writes the result back. Throws the model's SettlementError, with nothing changed, where the contract
   * would revert.
   */
  apply<S extends Step>(parties: readonly EscrowAccount[], transition: (ledger: Ledger) => S): S {
    // The model copies what it is given, so the same two small maps serve every step.
    const balances = this.#scratchBalances;
    const stakes = this.#scratchStakes;
    balances.clear();
    stakes.clear();
    for (const party of parties) {
      balances.set(party.key, party.balance);
      if (party.stake !== 0n) stakes.set(party.key, party.stake);
    }
    const step = transition({ balances, stakes });
    const after = step.ledger.balances;
    if (after.size !== balances.size) {
      const known = new Set(parties.map((p) => p.key));
      const outsider = [...after.keys()].find((key) => !known.has(key));
      throw new Error(`sim bug: a step touched ${outsider}, not one of ${[...known].join(', ')}`);
    }
    for (const party of parties) {
      party.balance = after.get(party.key) ?? ZERO;
      party.stake = step.ledger.stakes.get(party.key) ?? 0n;
    }
    return step;
  }

  /** The whole escrow as the model's Ledger (a copy), e.g. to compare with the chain. */
  snapshot(): Ledger {
    const balances = new Map<string, Balance>();
    const stakes = new Map<string, bigint>();
    for (const [key, account] of this.#accounts) {
      balances.set(key, account.balance);
      if (account.stake !== 0n) stakes.set(key, account.stake);
    }
    return { balances, stakes };
  }

  /** The escrow invariant: tokens held == Σ free + Σ locked. */
  invariantHolds(): boolean {
    return totalHeld(this.snapshot()) === this.#held;
  }
}
