/**
 * The engine: strategies lead to the deal outcomes and the money the protocol prescribes, the escrow adds up,
 * the same seed gives the same bytes, and the fast matcher changes nothing.
 */
import { parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/engine.js';
import { runFiles } from '../../src/sim/output.js';
import { scenario } from './scenarios.js';

const LP = (n: number | string) => parseEther(String(n));

describe('strategies and outcomes', () => {
  it('honest providers and trusting job creators: every deal accepted, the price moves JC → RP', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 10,
      population: {
        jobCreators: [{ count: 1, strategy: 'trusting' }],
        resourceProviders: [{ count: 1, strategy: 'honest' }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result, ledger, population } = simulate(s);
    expect(result.summary.outcomes).toEqual({
      Accepted: 10,
      TimedOutSubmit: 0,
      MediationAccepted: 0,
      MediationRejected: 0,
      TimedOutMediate: 0,
    });
    const jc = population.jobCreators[0]?.address as `0x${string}`;
    const rp = population.providers[0]?.address as `0x${string}`;
    // 10 jobs at fixedPrice 1 LP: exactly 10 LP moved, nothing left locked.
    expect(ledger.balanceOf(jc)).toEqual({ free: s.deposit - LP(10), locked: 0n });
    expect(ledger.balanceOf(rp)).toEqual({ free: s.deposit + LP(10), locked: 0n });
    expect(result.summary.escrowInvariantHolds).toBe(true);
  });

  it('a lazy provider times out every deal and loses Ts to the job creator each time', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 5,
      population: {
        jobCreators: [{ count: 1, strategy: 'trusting' }],
        resourceProviders: [{ count: 1, strategy: 'lazy' }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result, ledger, population } = simulate(s);
    expect(result.summary.outcomes.TimedOutSubmit).toBe(5);
    const rp = population.providers[0]?.address as `0x${string}`;
    expect(ledger.totalOf(rp)).toBe(s.deposit - 5n * s.collateral.timeout);
  });

  it('a provider that always cheats against job creators that always check: every cheat caught and slashed', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 8,
      checkProbability: 1,
      population: {
        jobCreators: [{ count: 2, strategy: 'check' }],
        resourceProviders: [{ count: 1, strategy: 'cheat', q: 1 }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result, ledger, population } = simulate(s);
    expect(result.summary.outcomes.MediationRejected).toBe(8);
    expect(result.summary.cheatsCaught).toBe(8);
    expect(result.summary.wrongResultsAccepted).toBe(0);
    // R = max(F, 2 × 1 LP) = 2 LP lost per deal; F of it to the mediator, the rest to the job creators.
    const rp = population.providers[0]?.address as `0x${string}`;
    const mediator = population.mediators[0]?.address as `0x${string}`;
    expect(ledger.totalOf(rp)).toBe(s.deposit - 8n * LP(2));
    expect(ledger.totalOf(mediator)).toBe(s.deposit + 8n * s.mediation.fee);
  });

  it('a false challenger pays the mediation fee and still pays the provider', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 6,
      population: {
        jobCreators: [{ count: 1, strategy: 'false-challenge', probability: 1 }],
        resourceProviders: [{ count: 2, strategy: 'honest' }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result, ledger, population } = simulate(s);
    expect(result.summary.outcomes.MediationAccepted).toBe(6);
    expect(result.summary.falseChallenges).toBe(6);
    const jc = population.jobCreators[0]?.address as `0x${string}`;
    expect(ledger.totalOf(jc)).toBe(s.deposit - 6n * (LP(1) + s.mediation.fee));
  });

  it('a mediator colluding with providers turns caught cheats into accepted ones', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 8,
      checkProbability: 1,
      population: {
        jobCreators: [{ count: 2, strategy: 'check' }],
        resourceProviders: [{ count: 1, strategy: 'cheat', q: 1 }],
        mediators: [{ count: 1, strategy: 'collude', with: 'resource-provider' }],
      },
    });
    const { result } = simulate(s);
    expect(result.summary.outcomes.MediationAccepted).toBe(8);
    expect(result.summary.wrongVerdicts).toBe(8);
    expect(result.summary.wrongResultsAccepted).toBe(8);
  });

  it('a 2-of-3 consortium outvotes one colluding mediator', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 8,
      checkProbability: 1,
      mediation: { k: 2, n: 3 },
      population: {
        jobCreators: [{ count: 2, strategy: 'check' }],
        resourceProviders: [{ count: 1, strategy: 'cheat', q: 1 }],
        mediators: [
          { count: 2, strategy: 'honest' },
          { count: 1, strategy: 'collude', with: 'resource-provider' },
        ],
      },
    });
    const { result } = simulate(s);
    expect(result.summary.outcomes.MediationRejected).toBe(8);
    expect(result.summary.wrongVerdicts).toBe(0);
  });

  it('an absent mediator: the challenge times out, nobody is paid, its stake is slashed, then it is not drawn', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 3,
      checkProbability: 1,
      mediation: { stake: 1.5 },
      population: {
        jobCreators: [{ count: 1, strategy: 'check' }],
        resourceProviders: [{ count: 1, strategy: 'cheat', q: 1 }],
        mediators: [{ count: 1, strategy: 'absent' }],
      },
    });
    const { result, ledger, population } = simulate(s);
    const mediator = population.mediators[0]?.address as `0x${string}`;
    // The first challenge times out and costs it min(stake, F) = 1 LP; 0.5 LP left is less than F, so the
    // contract no longer draws it: the next two challenges are refused and the job creator accepts.
    expect(result.summary.outcomes.TimedOutMediate).toBe(1);
    expect(result.summary.challengesRefused).toBe(2);
    expect(result.summary.outcomes.Accepted).toBe(2);
    expect(ledger.stakeOf(mediator)).toBe(LP(0.5));
    expect(ledger.totalOf(mediator)).toBe(s.deposit - LP(1));
    expect(result.summary.escrowInvariantHolds).toBe(true);
  });

  it('a silent job creator: every deal settles by timeoutJudge, as accepted', () => {
    const s = scenario({
      rounds: 1,
      jobsPerRound: 4,
      population: {
        jobCreators: [{ count: 1, strategy: 'silent' }],
        resourceProviders: [{ count: 1, strategy: 'honest' }],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result, traces } = simulate(s, { trace: true });
    expect(result.summary.outcomes.Accepted).toBe(4);
    expect(traces.every((t) => t.steps.at(-1)?.step === 'timeoutJudge')).toBe(true);
  });

  it('a provider that cannot cover its collateral leaves the market; its jobs go to others', () => {
    const s = scenario({
      rounds: 2,
      jobsPerRound: 30,
      roundSeconds: 60, // more jobs than offers: every provider works
      checkProbability: 1,
      population: {
        jobCreators: [{ count: 3, strategy: 'check' }],
        resourceProviders: [
          { count: 1, strategy: 'cheat', q: 1, label: 'cheater', deposit: 5 },
          { count: 3, strategy: 'honest' },
        ],
        mediators: [{ count: 1, strategy: 'honest' }],
      },
    });
    const { result } = simulate(s);
    expect(result.summary.providersBroke).toBe(1);
    expect(result.summary.escrowInvariantHolds).toBe(true);
    const cheater = result.groups.find((g) => g.label === 'cheater');
    // 5 LP deposit, R = 2 LP lost per caught cheat: after two it cannot lock Ts = 2 LP for a third deal.
    expect(cheater?.cheats).toBe(2);
    expect(result.summary.deals).toBe(60 - result.summary.unfunded - result.summary.unmatched);
  });
});

describe('determinism and matching', () => {
  const mixed = () =>
    scenario({
      rounds: 4,
      jobsPerRound: 120,
      checkProbability: 0.3,
      mediation: { k: 2, n: 3 },
      population: {
        jobCreators: [
          { count: 5, strategy: 'check' },
          { count: 2, strategy: 'false-challenge', probability: 0.2 },
          { count: 1, strategy: 'silent' },
        ],
        resourceProviders: [
          { count: 6, strategy: 'honest' },
          { count: 3, strategy: 'cheat', q: 0.5, fixedPrice: 0.9 },
          { count: 2, strategy: 'lazy' },
          { count: 4, strategy: 'adaptive', learning: 'own' },
        ],
        mediators: [
          { count: 3, strategy: 'honest' },
          { count: 1, strategy: 'collude', with: 'job-creator' },
          { count: 1, strategy: 'absent' },
        ],
      },
    });

  it('writes the same bytes for the same seed, and different ones for another seed', () => {
    const s = mixed();
    const once = runFiles(s, simulate(s).result, 'lilypad sim run test');
    const again = runFiles(s, simulate(mixed()).result, 'lilypad sim run test');
    expect(Object.keys(once)).toEqual(Object.keys(again));
    for (const name of Object.keys(once)) expect(again[name], name).toBe(once[name]);
    const other = { ...s, seed: s.seed + 1 };
    expect(runFiles(other, simulate(other).result, 'x')['run.json']).not.toBe(once['run.json']);
  });

  it("runs the same with the solver's own matchJob as with the fast index", () => {
    const s = mixed();
    const fast = simulate(s, { trace: true });
    const reference = simulate(s, { matcher: 'reference', trace: true });
    expect(reference.result).toEqual(fast.result);
    expect(reference.traces.map((t) => t.deal)).toEqual(fast.traces.map((t) => t.deal));
  });

  it('keeps the escrow whole: tokens held equal Σ free + Σ locked, nothing left locked but stakes', () => {
    const s = mixed();
    const { result, ledger, population } = simulate(s);
    expect(result.summary.escrowInvariantHolds).toBe(true);
    for (const agent of [...population.jobCreators, ...population.providers]) {
      expect(ledger.balanceOf(agent.address).locked).toBe(0n);
    }
    for (const m of population.mediators)
      expect(ledger.balanceOf(m.address).locked).toBe(ledger.stakeOf(m.address));
  });
});
