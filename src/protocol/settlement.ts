/**
 * The money of a deal, as a pure TypeScript reference model: one function per transition of the protocol table
 * (PROTOCOL.md, "Deal states and transitions"), over a `Ledger` of escrow balances. No chain code.
 *
 * This is THE reference that `contracts/LilypadDeals.sol` and the simulator (`src/sim`) share: the contract tests
 * compare every on-chain balance with what these functions compute, step by step, so a change to the money rules
 * is made here and in the contract together.
 *
 * Rules the protocol table leaves open, decided here (and implemented the same way on-chain):
 * - Mediator stakes are held in the escrow: staking moves free → locked and records the stake; a slash takes
 *   from both. A drawn mediator that has not voted when `timeoutMediate` is called loses min(stake, F).
 * - A slash is split between the job creator and the resource provider, who both lost the mediation they
 *   were owed; an odd unit goes to the job creator.
 * - The mediation fee F is split equally among the k mediators whose verdicts decided; the remainder of
 *   F / k goes to the first of them in the deal's `mediators` order (pass `paid` in that order). Mediators who voted the other way, or not at all before
 *   the decision, are paid nothing.
 *
 * Every function is total over valid inputs and throws a `SettlementError` named like the contract's custom error
 * (`InsufficientFree`, …) where the contract would revert, so the model and the contract refuse the same things.
 * Addresses are compared case-insensitively: the ledger keys them in lower case.
 */
import type { Address } from 'viem';
import type { Deal } from './eip712.js';
import { jobCost, resultsCollateral } from './pricing.js';

export type Balance = { readonly free: bigint; readonly locked: bigint };

/** Escrow balances per account, and the part of each mediator's `locked` that is its stake. */
export type Ledger = {
  readonly balances: ReadonlyMap<string, Balance>;
  readonly stakes: ReadonlyMap<string, bigint>;
};

/** Change of each account's balance in one step (accounts that do not change are absent). */
export type BalanceChanges = ReadonlyMap<string, Balance>;

export type Step = { ledger: Ledger; changes: BalanceChanges };

/** The deal terms the money depends on. */
export type DealTerms = Pick<
  Deal,
  | 'jobCreator'
  | 'resourceProvider'
  | 'fixedPrice'
  | 'pricePerInstruction'
  | 'paymentCollateral'
  | 'timeoutCollateral'
  | 'resultsCollateralMultipleBps'
  | 'mediationFee'
>;

export class SettlementError extends Error {
  override name = 'SettlementError';
  /** The contract's custom error for the same refusal. */
  readonly errorName: 'InsufficientFree' | 'InsufficientStake' | 'ZeroAmount';
  constructor(errorName: SettlementError['errorName'], message: string) {
    super(`${errorName}: ${message}`);
    this.errorName = errorName;
  }
}

const ZERO: Balance = { free: 0n, locked: 0n };
const key = (account: Address | string) => account.toLowerCase();

export const emptyLedger = (): Ledger => ({ balances: new Map(), stakes: new Map() });

export const balanceOf = (ledger: Ledger, account: Address | string): Balance =>
  ledger.balances.get(key(account)) ?? ZERO;

export const stakeOf = (ledger: Ledger, account: Address | string): bigint =>
  ledger.stakes.get(key(account)) ?? 0n;

/** Σ free + Σ locked: what the deal contract must hold in tokens. */
export function totalHeld(ledger: Ledger): bigint {
  let sum = 0n;
  for (const { free, locked } of ledger.balances.values()) sum += free + locked;
  return sum;
}

/**
 * Builds one step, applying updates in order exactly like the contract's `_update(account, release, credit,
 * lock)`: `release` leaves locked, `credit` joins free, then `lock` moves free → locked (refused if free is short).
 * Updates of the same account compose, so a job creator who is also the provider is handled like on-chain.
 */
class StepBuilder {
  readonly #balances: Map<string, Balance>;
  readonly #stakes: Map<string, bigint>;
  readonly #before = new Map<string, Balance>();

  constructor(ledger: Ledger) {
    this.#balances = new Map(ledger.balances);
    this.#stakes = new Map(ledger.stakes);
  }

  update(account: Address | string, { release = 0n, credit = 0n, lock = 0n }): this {
    const k = key(account);
    const b = this.#balances.get(k) ?? ZERO;
    if (!this.#before.has(k)) this.#before.set(k, b);
    const free = b.free + credit;
    if (free < lock) {
      throw new SettlementError('InsufficientFree', `${account} needs ${lock} free but has ${free}`);
    }
    if (b.locked < release) throw new Error(`model bug: ${account} releases ${release} of ${b.locked}`);
    this.#balances.set(k, { free: free - lock, locked: b.locked - release + lock });
    return this;
  }

  addStake(account: Address | string, delta: bigint): this {
    const k = key(account);
    const stake = (this.#stakes.get(k) ?? 0n) + delta;
    if (stake < 0n) throw new Error(`model bug: negative stake for ${account}`);
    if (stake === 0n) this.#stakes.delete(k);
    else this.#stakes.set(k, stake);
    return this;
  }

  stakeOf(account: Address | string): bigint {
    return this.#stakes.get(key(account)) ?? 0n;
  }

  done(): Step {
    const changes = new Map<string, Balance>();
    for (const [k, before] of this.#before) {
      const after = this.#balances.get(k) ?? ZERO;
      const delta = { free: after.free - before.free, locked: after.locked - before.locked };
      if (delta.free !== 0n || delta.locked !== 0n) changes.set(k, delta);
    }
    return { ledger: { balances: this.#balances, stakes: this.#stakes }, changes };
  }
}

const positive = (amount: bigint) => {
  if (amount <= 0n) throw new SettlementError('ZeroAmount', 'the amount must be positive');
};

// ---- escrow -----------------------------------------------------------------------------------------------------

export function deposit(ledger: Ledger, account: Address, amount: bigint): Step {
  positive(amount);
  return new StepBuilder(ledger).update(account, { credit: amount }).done();
}

export function withdraw(ledger: Ledger, account: Address, amount: bigint): Step {
  positive(amount);
  const { free } = balanceOf(ledger, account);
  if (free < amount) throw new SettlementError('InsufficientFree', `${account} has ${free} free`);
  return new StepBuilder(ledger).update(account, { lock: 0n, credit: -amount }).done();
}

/** A mediator puts part of its free balance up as stake (free → locked). */
export function stake(ledger: Ledger, mediator: Address, amount: bigint): Step {
  positive(amount);
  return new StepBuilder(ledger).update(mediator, { lock: amount }).addStake(mediator, amount).done();
}

/** A mediator with no open mediation takes stake back (locked → free). */
export function unstake(ledger: Ledger, mediator: Address, amount: bigint): Step {
  positive(amount);
  const staked = stakeOf(ledger, mediator);
  if (staked < amount) throw new SettlementError('InsufficientStake', `${mediator} has ${staked} staked`);
  return new StepBuilder(ledger)
    .update(mediator, { release: amount, credit: amount })
    .addStake(mediator, -amount)
    .done();
}

// ---- deal transitions -------------------------------------------------------------------------------------------

/** — → Agreed: lock P from the job creator, lock Ts from the resource provider. */
export function agree(ledger: Ledger, deal: DealTerms): Step {
  return new StepBuilder(ledger)
    .update(deal.jobCreator, { lock: deal.paymentCollateral })
    .update(deal.resourceProvider, { lock: deal.timeoutCollateral })
    .done();
}

/** Agreed → ResultsSubmitted: the cost is fixed; unlock Ts and lock R from the resource provider. */
export function submitResult(
  ledger: Ledger,
  deal: DealTerms,
  instructionCount: bigint,
): Step & { cost: bigint; resultsCollateral: bigint } {
  const cost = jobCost(deal, instructionCount);
  const R = resultsCollateral(deal, cost);
  const step = new StepBuilder(ledger)
    .update(deal.resourceProvider, {
      release: deal.timeoutCollateral,
      credit: deal.timeoutCollateral,
      lock: R,
    })
    .done();
  return { ...step, cost, resultsCollateral: R };
}

/** Agreed → TimedOutSubmit: unlock P to the job creator; Ts moves RP → JC. */
export function timeoutSubmit(ledger: Ledger, deal: DealTerms): Step {
  const P = deal.paymentCollateral;
  const Ts = deal.timeoutCollateral;
  return new StepBuilder(ledger)
    .update(deal.jobCreator, { release: P, credit: P + Ts })
    .update(deal.resourceProvider, { release: Ts })
    .done();
}

/** ResultsSubmitted → Accepted (by `accept`, `acceptMany` or `timeoutJudge`): cost JC → RP; P − cost and R unlocked. */
export function accept(ledger: Ledger, deal: DealTerms, cost: bigint): Step {
  const P = deal.paymentCollateral;
  const R = resultsCollateral(deal, cost);
  return new StepBuilder(ledger)
    .update(deal.jobCreator, { release: P, credit: P - cost })
    .update(deal.resourceProvider, { release: R, credit: R + cost })
    .done();
}

/** Silence is acceptance: the same money as `accept`. */
export const timeoutJudge = accept;

/** ResultsSubmitted → Challenged: lock F from the job creator. */
export function challenge(ledger: Ledger, deal: DealTerms): Step {
  return new StepBuilder(ledger).update(deal.jobCreator, { lock: deal.mediationFee }).done();
}

/** F split among the mediators whose verdicts decided: equal shares, the remainder to the first. */
export function mediatorShares(fee: bigint, paid: readonly Address[]): [Address, bigint][] {
  if (paid.length === 0) throw new Error('a verdict pays at least one mediator');
  const n = BigInt(paid.length);
  const share = fee / n;
  return paid.map((m, i) => [m, i === 0 ? share + (fee - share * n) : share]);
}

/**
 * Challenged → MediationAccepted ("result correct"): cost JC → RP; F JC → the deciding mediators; P − cost
 * unlocked to the job creator, R unlocked to the resource provider.
 */
export function verdictAccepted(
  ledger: Ledger,
  deal: DealTerms,
  cost: bigint,
  paid: readonly Address[],
): Step {
  const P = deal.paymentCollateral;
  const F = deal.mediationFee;
  const R = resultsCollateral(deal, cost);
  const step = new StepBuilder(ledger)
    .update(deal.jobCreator, { release: P + F, credit: P - cost })
    .update(deal.resourceProvider, { release: R, credit: R + cost });
  for (const [mediator, share] of mediatorShares(F, paid)) step.update(mediator, { credit: share });
  return step.done();
}

/**
 * Challenged → MediationRejected ("result wrong"): P and F unlocked to the job creator; from R, F goes to the
 * deciding mediators and R − F to the job creator. The resource provider is paid nothing.
 */
export function verdictRejected(
  ledger: Ledger,
  deal: DealTerms,
  cost: bigint,
  paid: readonly Address[],
): Step {
  const P = deal.paymentCollateral;
  const F = deal.mediationFee;
  const R = resultsCollateral(deal, cost);
  const step = new StepBuilder(ledger)
    .update(deal.jobCreator, { release: P + F, credit: P + F + (R - F) })
    .update(deal.resourceProvider, { release: R });
  for (const [mediator, share] of mediatorShares(F, paid)) step.update(mediator, { credit: share });
  return step.done();
}

/**
 * Challenged → TimedOutMediate: everything unlocked to its owner and nobody paid; then every drawn mediator that
 * did not vote (`silent`) loses min(stake, F), split between JC and RP (odd unit to the JC).
 */
export function timeoutMediate(
  ledger: Ledger,
  deal: DealTerms,
  cost: bigint,
  silent: readonly Address[] = [],
): Step & { slashed: [Address, bigint][] } {
  const P = deal.paymentCollateral;
  const F = deal.mediationFee;
  const R = resultsCollateral(deal, cost);
  const step = new StepBuilder(ledger)
    .update(deal.jobCreator, { release: P + F, credit: P + F })
    .update(deal.resourceProvider, { release: R, credit: R });
  const slashed: [Address, bigint][] = [];
  for (const mediator of silent) {
    const staked = step.stakeOf(mediator);
    const amount = staked < F ? staked : F;
    if (amount === 0n) continue;
    step.update(mediator, { release: amount }).addStake(mediator, -amount);
    const toRP = amount / 2n;
    step.update(deal.jobCreator, { credit: amount - toRP }).update(deal.resourceProvider, { credit: toRP });
    slashed.push([mediator, amount]);
  }
  return { ...step.done(), slashed };
}
