/**
 * MODiCuM's deterrence condition, computed from the same pricing functions the contracts use.
 *
 * A provider that cheats saves s (the work it skips). When the job creator checks, with probability p, and the
 * mediators judge honestly, the cheat is caught: the provider is paid nothing (it loses the payment r) and loses
 * its results collateral f = R. Per job:
 *
 *     honest: r − c          cheat: (1 − p)·r − p·f − (c − s)
 *
 * so cheating pays exactly while p·(r + f) < s, i.e. below p* = s / (r + f).
 */

import { jobCost, resultsCollateral } from '../protocol/pricing.js';
import type { DealTerms } from '../protocol/settlement.js';
import type { Scenario } from './scenario.js';

export type Deterrence = {
  /** r: what the job creator pays for one job, LP. */
  payment: number;
  /** f: the results collateral a caught cheater loses, LP. */
  collateral: number;
  /** s: what cheating saves, LP. */
  saving: number;
  /** c: what honest work costs, LP. */
  compute: number;
  /** p* = s / (r + f): cheating pays for p below it. Above 1 means no checking deters. */
  threshold: number;
};

const WEI = 1e18;
export const toLP = (amount: bigint): number => Number(amount) / WEI;

/**
 * The terms for a typical deal of the scenario: the first adaptive provider group's price and collateral if
 * there is one (the agents the theory is about), else the scenario's.
 */
export function typicalTerms(scenario: Scenario): DealTerms {
  const adaptive = scenario.population.resourceProviders.find((g) => g.strategy === 'adaptive');
  const multiple = adaptive?.resultsMultiple ?? scenario.collateral.resultsMultiple;
  return {
    jobCreator: '0x0000000000000000000000000000000000000001',
    resourceProvider: '0x0000000000000000000000000000000000000002',
    fixedPrice: adaptive?.fixedPrice ?? scenario.prices.fixedPrice,
    pricePerInstruction: scenario.prices.pricePerInstruction,
    paymentCollateral: scenario.prices.maxPrice,
    timeoutCollateral: scenario.collateral.timeout,
    resultsCollateralMultipleBps: Math.round(multiple * 10_000),
    mediationFee: scenario.mediation.fee,
  };
}

export function deterrence(scenario: Scenario): Deterrence {
  const terms = typicalTerms(scenario);
  const cost = jobCost(terms, BigInt(scenario.instructions));
  const R = resultsCollateral(terms, cost);
  const payment = toLP(cost);
  const collateral = toLP(R);
  const saving = toLP(scenario.costs.cheatSaving);
  return {
    payment,
    collateral,
    saving,
    compute: toLP(scenario.costs.compute),
    threshold: payment + collateral === 0 ? Number.POSITIVE_INFINITY : saving / (payment + collateral),
  };
}

/** Expected payoff per job of each action at detection probability p, LP. */
export function expectedPayoffs(d: Deterrence, p: number): { honest: number; cheat: number } {
  return {
    honest: d.payment - d.compute,
    cheat: (1 - p) * d.payment - p * d.collateral - (d.compute - d.saving),
  };
}

/**
 * The probability that a wrong result is challenged, averaged over the job creators (jobs go to them
 * uniformly): p for checkers, the challenge probability for false challengers, 0 for the rest.
 */
export function detectionProbability(scenario: Scenario): number {
  let agents = 0;
  let sum = 0;
  for (const group of scenario.population.jobCreators) {
    agents += group.count;
    if (group.strategy === 'check')
      sum += group.count * (group.checkProbability ?? scenario.checkProbability);
    if (group.strategy === 'false-challenge') sum += group.count * group.probability;
  }
  return agents === 0 ? 0 : sum / agents;
}

/**
 * Where a falling series crosses `level` (linear interpolation between points), e.g. the p at which the
 * simulated cheating rate drops through 50 %: the simulated threshold. Undefined if it never does.
 */
export function crossing(xs: readonly number[], ys: readonly number[], level = 0.5): number | undefined {
  for (let i = 1; i < xs.length; i++) {
    const y0 = ys[i - 1] as number;
    const y1 = ys[i] as number;
    if (y0 >= level && y1 < level) {
      const x0 = xs[i - 1] as number;
      const x1 = xs[i] as number;
      return x0 + ((y0 - level) / (y0 - y1)) * (x1 - x0);
    }
  }
  return undefined;
}
