/**
 * What each agent does at each decision point of a deal, by strategy. Pure functions of the agent, the facts it
 * can see and a random stream: the engine applies the consequences.
 */
import type { JobCreatorAgent, MediatorAgent, ProviderAgent } from './agents.js';
import type { Random } from './random.js';

/** How a provider handles one job: do the work, post a wrong result without doing it, or never answer. */
export type ProviderAction = 'honest' | 'cheat' | 'lazy';

/** Decided when the deal is agreed. */
export function providerAction(provider: ProviderAgent, random: Random): ProviderAction {
  const { strategy } = provider;
  switch (strategy.strategy) {
    case 'honest':
      return 'honest';
    case 'lazy':
      return 'lazy';
    case 'cheat':
      return random.chance(strategy.q) ? 'cheat' : 'honest';
    case 'adaptive':
      return (provider.learner as NonNullable<ProviderAgent['learner']>).choose(random);
  }
}

/** The job creator's answer to a posted result. `checked`: it re-ran the job (and paid for it). */
export type Judgement =
  | { readonly kind: 'accept'; readonly checked: boolean }
  | { readonly kind: 'challenge'; readonly checked: boolean }
  | { readonly kind: 'silent' };

// Judgements are values, shared and never changed (a run judges hundreds of thousands of results).
const accepted: Judgement = { kind: 'accept', checked: false };
const acceptedAfterCheck: Judgement = { kind: 'accept', checked: true };
const challenged: Judgement = { kind: 'challenge', checked: false };
const challengedAfterCheck: Judgement = { kind: 'challenge', checked: true };
const silent: Judgement = { kind: 'silent' };

/**
 * `wrong` is whether the result is wrong; a job creator learns it only by checking (re-running a deterministic
 * job gives a different result CID).
 */
export function judge(jobCreator: JobCreatorAgent, wrong: boolean, random: Random): Judgement {
  const { strategy } = jobCreator;
  switch (strategy.strategy) {
    case 'trusting':
      return accepted;
    case 'silent':
      return silent;
    case 'false-challenge':
      return random.chance(strategy.probability) ? challenged : accepted;
    case 'check': {
      if (!random.chance(jobCreator.checkProbability)) return accepted;
      return wrong ? challengedAfterCheck : acceptedAfterCheck;
    }
  }
}

export type Verdict = 'correct' | 'wrong';

/**
 * A drawn mediator's vote and how long it takes, or undefined if it never votes. An honest one re-runs the job
 * (it takes `mediateSeconds` and costs it); a colluding one votes for its party at once, without re-running.
 */
export function mediatorVote(
  mediator: MediatorAgent,
  wrong: boolean,
  mediateSeconds: number,
): { verdict: Verdict; delay: number; reran: boolean } | undefined {
  const { strategy } = mediator;
  switch (strategy.strategy) {
    case 'honest':
      return { verdict: wrong ? 'wrong' : 'correct', delay: mediateSeconds, reran: true };
    case 'collude':
      return { verdict: strategy.with === 'job-creator' ? 'wrong' : 'correct', delay: 1, reran: false };
    case 'absent':
      return undefined;
  }
}
