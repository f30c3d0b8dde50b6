/**
 * The simulator against MODiCuM's theory: a payoff-maximizing (adaptive) provider cheats when nobody checks,
 * and over a sweep of the check probability p its cheating rate switches where p·(r + f) = s.
 */
import { describe, expect, it } from 'vitest';
import { analyticCrossing, cheatingMargin, plottedCheatingRate } from '../../src/sim/charts.js';
import { simulate } from '../../src/sim/engine.js';
import { axisValues, sweep } from '../../src/sim/sweep.js';
import { crossing, detectionProbability, deterrence, expectedPayoffs } from '../../src/sim/theory.js';
import { rawScenario, scenario } from './scenarios.js';

/** r = 1 LP, f = R = 2 × r = 2 LP, s = 0.5 LP: p* = 0.5 / 3 ≈ 0.167. */
const deterrenceScenario = rawScenario({
  name: 'deterrence',
  seed: 42,
  rounds: 16,
  jobsPerRound: 800,
  prices: { fixedPrice: 1, maxPrice: 10 },
  collateral: { resultsMultiple: 2 },
  mediation: { fee: 1 },
  costs: { compute: 0.5, cheatSaving: 0.5 },
  population: {
    jobCreators: [{ count: 20, strategy: 'check' }],
    resourceProviders: [{ count: 40, strategy: 'adaptive', epsilon: 0.05 }],
    mediators: [{ count: 3, strategy: 'honest' }],
  },
});

describe('deterrence (MODiCuM)', () => {
  it('computes r, f, s and the threshold with the protocol’s pricing', () => {
    const d = deterrence(scenario(deterrenceScenario));
    expect(d).toMatchObject({ payment: 1, collateral: 2, saving: 0.5, compute: 0.5 });
    expect(d.threshold).toBeCloseTo(1 / 6, 12);
    const at = expectedPayoffs(d, d.threshold);
    expect(at.cheat).toBeCloseTo(at.honest, 12); // indifferent exactly at p*
    // R is never below the mediation fee: with a tiny multiple, f = F.
    expect(
      deterrence(scenario({ ...deterrenceScenario, collateral: { resultsMultiple: 0.1 } })).collateral,
    ).toBe(1);
  });

  it('averages the detection probability over the job creators', () => {
    const s = scenario({
      checkProbability: 0.4,
      population: {
        jobCreators: [
          { count: 2, strategy: 'check' },
          { count: 1, strategy: 'check', checkProbability: 1 },
          { count: 1, strategy: 'trusting' },
        ],
        resourceProviders: [{ count: 1, strategy: 'honest' }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    expect(detectionProbability(s)).toBeCloseTo((0.4 + 0.4 + 1 + 0) / 4, 12);
  });

  it('with p = 0 a rational provider cheats', () => {
    const { result } = simulate(scenario({ ...deterrenceScenario, checkProbability: 0, rounds: 6 }));
    expect(result.summary.theory.cheatingPays).toBe(true);
    expect(result.summary.adaptive?.cheatingRate).toBeGreaterThan(0.9);
  });

  it('the simulated cheating rate against p switches at the analytic threshold p* = s / (r + f)', () => {
    const result = sweep(deterrenceScenario, [
      axisValues({ param: 'checkProbability', from: 0, to: 0.4, step: 0.025 }),
    ]);
    const ps = result.points.map((p) => p.params.checkProbability as number);
    const rates = result.points.map((p) => plottedCheatingRate(p.result));
    const analytic = analyticCrossing(
      ps,
      result.points.map((p) => cheatingMargin(p.result)),
    );
    const pStar = result.points[0]?.result.summary.theory.threshold as number;
    expect(analytic).toBeCloseTo(pStar, 3);
    const simulated = crossing(ps, rates);
    expect(simulated).toBeDefined();
    expect(Math.abs((simulated as number) - pStar)).toBeLessThan(0.03);
    // Away from the threshold, the learners have made up their minds (ε = 5 % keeps exploring).
    ps.forEach((p, i) => {
      if (p < pStar - 0.05) expect(rates[i], `p = ${p}`).toBeGreaterThan(0.9);
      if (p > pStar + 0.05) expect(rates[i], `p = ${p}`).toBeLessThan(0.1);
    });
    // And what they earned per deal agrees with the theory's s − p·(r + f).
    for (const point of result.points) {
      const earned = point.result.summary.adaptive?.payoffPerDeal;
      if (earned?.cheat == null || earned.honest == null) continue;
      expect(Math.abs(earned.cheat - earned.honest - cheatingMargin(point.result))).toBeLessThan(0.05);
    }
  });
});
