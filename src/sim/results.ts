/**
 * What one simulation run reports: totals, one row per round, one row per agent group, and the theory's
 * prediction for the same parameters. Plain JSON (numbers and strings, amounts in LP), written in a fixed key
 * order and with no clock in it, so that the same scenario and seed give the same bytes.
 */
import type { Deterrence } from './theory.js';

/** The final states a deal can end in (PROTOCOL.md). */
export const outcomes = [
  'Accepted',
  'TimedOutSubmit',
  'MediationAccepted',
  'MediationRejected',
  'TimedOutMediate',
] as const;
export type Outcome = (typeof outcomes)[number];
export type OutcomeCounts = Record<Outcome, number>;

export const noOutcomes = (): OutcomeCounts => ({
  Accepted: 0,
  TimedOutSubmit: 0,
  MediationAccepted: 0,
  MediationRejected: 0,
  TimedOutMediate: 0,
});

export type RoundStats = {
  round: number;
  jobs: number;
  deals: number;
  /** Jobs no offer could take by the end of the round. */
  unmatched: number;
  /** Jobs whose creator could not lock P. */
  unfunded: number;
  /** Deals whose provider posted a wrong result. */
  cheats: number;
  /** Deals of adaptive providers, and how many of them they cheated in. */
  adaptiveDeals: number;
  adaptiveCheats: number;
  outcomes: OutcomeCounts;
  /** Simulated time when the round's last deal settled, seconds. */
  endSeconds: number;
};

export type GroupStats = {
  role: 'job-creator' | 'resource-provider' | 'mediator';
  label: string;
  strategy: string;
  agents: number;
  /** Deals the group took part in (mediators: challenges they were drawn for). */
  deals: number;
  cheats: number;
  /** Σ (escrow now − deposit) − off-chain spending, LP. */
  payoff: number;
  payoffPerAgent: number;
  /** payoff / deals (0 without deals), LP. */
  payoffPerDeal: number;
  escrowChange: number;
  spent: number;
};

export type RunSummary = {
  jobs: number;
  deals: number;
  unmatched: number;
  unfunded: number;
  outcomes: OutcomeCounts;
  /** Wrong results posted, and the share of deals with one. */
  cheats: number;
  cheatingRate: number;
  /** Wrong results that a mediation rejected. */
  cheatsCaught: number;
  /** Wrong results the job creator accepted (or let time out): work lost. */
  wrongResultsAccepted: number;
  /** Correct results that were challenged. */
  falseChallenges: number;
  /** Verdicts that contradict the truth (collusion at work). */
  wrongVerdicts: number;
  checks: number;
  challenges: number;
  /**
   * Challenges the contract would refuse: the job creator cannot lock F, or fewer than n of the deal's mediators
   * hold a stake of at least F. The job creator then accepts.
   */
  challengesRefused: number;
  /** Providers withdrawn because they could not cover a collateral. */
  providersBroke: number;
  /**
   * Adaptive providers: the share of their deals they cheated in, over the second half of the rounds (once they
   * have learnt), and over all rounds. Null without adaptive providers.
   */
  adaptive: {
    providers: number;
    deals: number;
    cheatingRate: number;
    cheatingRateAllRounds: number;
    /** The mean payoff per deal each action earned them (what they learnt from), LP; null if never played. */
    payoffPerDeal: { honest: number | null; cheat: number | null };
  } | null;
  /** p: the probability that a wrong result is challenged, averaged over the job creators. */
  detectionProbability: number;
  theory: Deterrence & {
    /** Whether a payoff maximizer should cheat at this detection probability. */
    cheatingPays: boolean;
    expectedPayoffHonest: number;
    expectedPayoffCheat: number;
  };
  simulatedSeconds: number;
  /** Tokens in the escrow, and whether Σ free + Σ locked equals them (the contract's invariant). */
  escrowHeld: number;
  escrowInvariantHolds: boolean;
};

export type RunResult = {
  scenario: string;
  seed: number;
  summary: RunSummary;
  rounds: RoundStats[];
  groups: GroupStats[];
};

/** Rounds a float for output: 6 significant digits are plenty and keep files readable. */
export const tidy = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);
