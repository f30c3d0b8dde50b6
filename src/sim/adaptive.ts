/**
 * A payoff-maximizing agent that learns from what it earns: it keeps the mean payoff per job of each of its
 * actions, and for every job plays the best one so far, or with probability ε a random one (ε-greedy). It
 * learns between rounds: payoffs earned during a round count from the next round on, so every job of a round
 * is played against the same beliefs. An action it has never tried is tried first (uniformly at random).
 *
 * This is the "rational provider" of MODiCuM's analysis, without telling it the formula: it should end up
 * cheating exactly when cheating pays, p·(r + f) < s.
 */
import type { Random } from './random.js';

export class EpsilonGreedyLearner<Action extends string> {
  readonly #actions: readonly Action[];
  readonly #epsilon: number;
  /** Sums and counts of payoffs, in LP (floats are enough to choose; the ledger stays exact). */
  readonly #sum: number[];
  readonly #count: number[];
  readonly #pendingSum: number[];
  readonly #pendingCount: number[];

  constructor(actions: readonly Action[], epsilon: number) {
    this.#actions = actions;
    this.#epsilon = epsilon;
    this.#sum = actions.map(() => 0);
    this.#count = actions.map(() => 0);
    this.#pendingSum = actions.map(() => 0);
    this.#pendingCount = actions.map(() => 0);
  }

  /** The action for the next job; draws once from `random` (twice when exploring). */
  choose(random: Random): Action {
    const n = this.#actions.length;
    const untried = this.#count.some((c) => c === 0);
    if (untried || random.chance(this.#epsilon)) return this.#actions[random.int(n)] as Action;
    let best = 0;
    for (let i = 1; i < n; i++) {
      if (this.mean(i) > this.mean(best)) best = i;
    }
    return this.#actions[best] as Action;
  }

  /** Records the payoff one job earned with `action`; it counts from the next round. */
  record(action: Action, payoff: number): void {
    const i = this.#actions.indexOf(action);
    if (i < 0) return;
    this.#pendingSum[i] = (this.#pendingSum[i] as number) + payoff;
    this.#pendingCount[i] = (this.#pendingCount[i] as number) + 1;
  }

  /** Folds the round's payoffs into the beliefs. */
  endRound(): void {
    for (let i = 0; i < this.#actions.length; i++) {
      this.#sum[i] = (this.#sum[i] as number) + (this.#pendingSum[i] as number);
      this.#count[i] = (this.#count[i] as number) + (this.#pendingCount[i] as number);
      this.#pendingSum[i] = 0;
      this.#pendingCount[i] = 0;
    }
  }

  /** Mean payoff per job of the action at `index` so far (0 before any). */
  mean(index: number): number {
    const count = this.#count[index] as number;
    return count === 0 ? 0 : (this.#sum[index] as number) / count;
  }

  /** The beliefs, for reports: mean payoff and number of jobs per action. */
  beliefs(): Record<Action, { mean: number; jobs: number }> {
    return Object.fromEntries(
      this.#actions.map((a, i) => [a, { mean: this.mean(i), jobs: this.#count[i] as number }]),
    ) as Record<Action, { mean: number; jobs: number }>;
  }
}
