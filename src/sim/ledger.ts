/**
 * The simulator's escrow: a mutable store of balances that moves money only through the protocol's reference
 * model (`src/protocol/settlement.ts`), the same functions the contract tests check the contract against.
 *
 * The model is pure: every step copies the ledger it is given. Copying ten thousand balances for each of a few
 * hundred thousand steps would cost minutes, so each step here runs on a small ledger holding only the deal's
 * parties (the model never touches anyone else), and its result is written back. The money is the model's;
 * only the bookkeeping around it is ours.
 */
import type { Address } from 'viem';
import { type Balance, deposit, type Ledger, type Step, stake, totalHeld } from '../protocol/settlement.js';

const ZERO: Balance = { free: 0n, locked: 0n };

export class SimLedger {
  readonly #balances = new Map<string, Balance>();
  readonly #stakes = new Map<string, bigint>();
  readonly #scratchBalances = new Map<string, Balance>();
  readonly #scratchStakes = new Map<string, bigint>();
  /** Tokens that entered the escrow: what `token.balanceOf(deals)` would be. */
  #held = 0n;

  balanceOf(account: Address): Balance {
    return this.#balances.get(account.toLowerCase()) ?? ZERO;
  }

  stakeOf(account: Address): bigint {
    return this.#stakes.get(account.toLowerCase()) ?? 0n;
  }

  /** free + locked: what the account owns in the escrow. */
  totalOf(account: Address): bigint {
    const b = this.balanceOf(account);
    return b.free + b.locked;
  }

  get held(): bigint {
    return this.#held;
  }

  deposit(account: Address, amount: bigint): void {
    this.apply([account], (ledger) => deposit(ledger, account, amount));
    this.#held += amount;
  }

  stake(mediator: Address, amount: bigint): void {
    this.apply([mediator], (ledger) => stake(ledger, mediator, amount));
  }

  /**
   * Runs one step of the model over the accounts it touches (`parties`, every account the step may change) and
   * writes the result back. Throws the model's SettlementError, with nothing
   * changed, where the contract would revert.
   */
  apply<S extends Step>(parties: readonly Address[], transition: (ledger: Ledger) => S): S {
    // The model copies what it is given, so the same two small maps serve every step.
    const balances = this.#scratchBalances;
    const stakes = this.#scratchStakes;
    balances.clear();
    stakes.clear();
    for (const party of parties) {
      const key = party.toLowerCase();
      const balance = this.#balances.get(key);
      if (balance) balances.set(key, balance);
      const staked = this.#stakes.get(key);
      if (staked !== undefined) stakes.set(key, staked);
    }
    const step = transition({ balances, stakes });
    for (const [key, balance] of step.ledger.balances) {
      if (!balances.has(key) && !parties.some((p) => p.toLowerCase() === key)) {
        throw new Error(`sim bug: a step touched ${key}, not one of ${parties.join(', ')}`);
      }
      this.#balances.set(key, balance);
    }
    for (const key of stakes.keys()) if (!step.ledger.stakes.has(key)) this.#stakes.delete(key);
    for (const [key, staked] of step.ledger.stakes) this.#stakes.set(key, staked);
    return step;
  }

  /** The whole escrow as the model's Ledger (a copy), e.g. to compare with the chain. */
  snapshot(): Ledger {
    return { balances: new Map(this.#balances), stakes: new Map(this.#stakes) };
  }

  /** The escrow invariant: tokens held == Σ free + Σ locked. */
  invariantHolds(): boolean {
    return totalHeld(this.snapshot()) === this.#held;
  }
}
