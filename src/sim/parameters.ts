/**
 * A scenario as a table of parameters (name, value, meaning), amounts in LP: the table of every report, and
 * the `parameters` object of every JSON output.
 */
import { formatEther } from 'viem';
import type { Scenario } from './scenario.js';

export type ParameterRow = { name: string; value: string; meaning: string };

const lp = (amount: bigint) => `${formatEther(amount)} LP`;

function populationText(groups: readonly { count: number; strategy: string; label?: string }[]): string {
  return groups.map((g) => `${g.count} × ${g.label ?? g.strategy}`).join(', ');
}

function groupDetails(s: Scenario): string[] {
  const details: string[] = [];
  for (const g of s.population.jobCreators) {
    if (g.strategy === 'check' && g.checkProbability !== undefined)
      details.push(`check p=${g.checkProbability}`);
    if (g.strategy === 'false-challenge') details.push(`false challenge with probability ${g.probability}`);
  }
  for (const g of s.population.resourceProviders) {
    if (g.strategy === 'cheat') details.push(`cheat q=${g.q}`);
    if (g.strategy === 'adaptive') details.push(`adaptive ε=${g.epsilon}, learning ${g.learning}`);
    if (g.slots !== 1) details.push(`${g.label ?? g.strategy}: ${g.slots} slots`);
    if (g.fixedPrice !== undefined) details.push(`${g.label ?? g.strategy}: price ${lp(g.fixedPrice)}`);
  }
  for (const g of s.population.mediators)
    if (g.strategy === 'collude') details.push(`mediators collude with ${g.with}`);
  return details;
}

export function parameterRows(s: Scenario): ParameterRow[] {
  const rows: ParameterRow[] = [
    { name: 'seed', value: String(s.seed), meaning: 'same seed, same run, byte for byte' },
    { name: 'rounds', value: String(s.rounds), meaning: 'adaptive agents learn between rounds' },
    {
      name: 'jobsPerRound',
      value: String(s.jobsPerRound),
      meaning: `posted over ${s.roundSeconds} s per round`,
    },
    { name: 'job creators', value: populationText(s.population.jobCreators), meaning: 'population' },
    {
      name: 'resource providers',
      value: populationText(s.population.resourceProviders),
      meaning: 'population',
    },
    { name: 'mediators', value: populationText(s.population.mediators), meaning: 'population' },
    { name: 'prices.fixedPrice', value: lp(s.prices.fixedPrice), meaning: 'price per job (fixed part)' },
    {
      name: 'prices.pricePerInstruction',
      value: lp(s.prices.pricePerInstruction),
      meaning: 'per instruction',
    },
    { name: 'instructions', value: String(s.instructions), meaning: 'instructions per job' },
    { name: 'prices.maxPrice', value: lp(s.prices.maxPrice), meaning: 'payment collateral P' },
    { name: 'collateral.timeout', value: lp(s.collateral.timeout), meaning: 'timeout collateral Ts' },
    {
      name: 'collateral.resultsMultiple',
      value: `${s.collateral.resultsMultiple}×`,
      meaning: 'results collateral R = max(F, multiple × cost)',
    },
    { name: 'mediation.fee', value: lp(s.mediation.fee), meaning: 'mediation fee F, paid by the loser' },
    {
      name: 'mediation k-of-n',
      value: `${s.mediation.k} of ${s.mediation.n}`,
      meaning: 'agreeing votes needed of the mediators drawn',
    },
    {
      name: 'mediation.stake',
      value: lp(s.mediation.stake),
      meaning: 'each mediator; slashed if it does not vote',
    },
    {
      name: 'checkProbability',
      value: String(s.checkProbability),
      meaning: 'p: how often a checking job creator re-runs',
    },
    { name: 'costs.compute', value: lp(s.costs.compute), meaning: 'c: a provider’s cost to run a job' },
    { name: 'costs.cheatSaving', value: lp(s.costs.cheatSaving), meaning: 's: what skipping the work saves' },
    { name: 'costs.check', value: lp(s.costs.check), meaning: 'a job creator’s cost to re-run a job' },
    { name: 'costs.mediate', value: lp(s.costs.mediate), meaning: 'a mediator’s cost to re-run a job' },
    {
      name: 'timeouts',
      value: `submit ${s.timeouts.submit} s, judge ${s.timeouts.judge} s, mediate ${s.timeouts.mediate} s`,
      meaning: 'the deal’s deadlines',
    },
    {
      name: 'durations',
      value: `compute ${s.durations.compute} s, judge ${s.durations.judge} s, mediate ${s.durations.mediate} s`,
      meaning: 'how long each step takes',
    },
    { name: 'deposit', value: lp(s.deposit), meaning: 'every agent’s initial escrow' },
  ];
  const details = groupDetails(s);
  if (details.length > 0)
    rows.push({ name: 'strategies', value: details.join('; '), meaning: 'group settings' });
  return rows;
}
