/**
 * A simulation scenario: who is in the market, what things cost, how much collateral is at stake, how often
 * job creators check, how many rounds to play and the seed. Written as YAML or JSON, validated with zod; an
 * invalid file is refused with every bad field named by its path (`population.resourceProviders[1].q: …`).
 *
 * Amounts of LP are written as numbers or decimal strings (`1`, `0.25`, `"0.000001"`) and become token units
 * (18 decimals) exactly as the contracts count them. Off-chain costs (computing, checking, mediating) are in LP
 * too, so that a payoff is one number: what an agent's escrow gained minus what its work cost.
 */
import { readFile } from 'node:fs/promises';
import { parseEther } from 'viem';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { MachineSpec } from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';

/** A scenario file that cannot be used; `details` lists every problem, one per line. */
export class ScenarioError extends LilypadError {
  override name = 'ScenarioError';
}

/** The most mediators a deal may name (LilypadDeals.MAX_MEDIATORS); every simulated offer names them all. */
export const MAX_MEDIATORS = 64;

const lpPattern = /^\d+(\.\d{1,18})?$/;

/** LP as a number or a decimal string → token units. */
const lp = z
  .union([z.number().nonnegative(), z.string().regex(lpPattern, 'expected LP as a decimal, e.g. "0.5"')])
  .transform((value, ctx) => {
    const text = typeof value === 'number' ? decimal(value) : value;
    if (!lpPattern.test(text)) {
      ctx.addIssue({ code: 'custom', message: `${value} LP has more than 18 decimals` });
      return z.NEVER;
    }
    return parseEther(text);
  });

/** A number as a plain decimal string (no exponent), for parseEther. */
function decimal(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(18).replace(/\.?0+$/, '');
}

const probability = z.number().min(0).max(1);
const seconds = z.number().int().positive();
const count = z.number().int().positive();

const machineSpec = z.strictObject({
  cpu: z.number().int().nonnegative(),
  gpu: z.number().int().nonnegative().default(0),
  gpuVram: z.number().int().nonnegative().default(0),
  ram: z.number().int().nonnegative(),
  disk: z.number().int().nonnegative(),
});

/** What a job asks for, and what a provider offers, when a group does not say. */
export const defaultJobSpec: MachineSpec = { cpu: 1000, gpu: 0, gpuVram: 0, ram: 512, disk: 100 };
export const defaultProviderSpec: MachineSpec = { cpu: 4000, gpu: 0, gpuVram: 0, ram: 8192, disk: 10_240 };

/** Overrides the scenario's deposit for the agents of one group, LP. */
const groupDeposit = { deposit: lp.optional() };

const jobCreatorCommon = {
  count,
  ...groupDeposit,
  /** A label for reports; the strategy by default. */
  label: z.string().optional(),
  spec: machineSpec.optional(),
  pricing: z.enum(['market', 'fixed']).default('market'),
};

const jobCreatorGroup = z.discriminatedUnion('strategy', [
  /** Accepts every result without looking. */
  z.strictObject({ ...jobCreatorCommon, strategy: z.literal('trusting') }),
  /** Re-runs the job with probability p (the scenario's checkProbability unless given) and challenges a mismatch. */
  z.strictObject({
    ...jobCreatorCommon,
    strategy: z.literal('check'),
    checkProbability: probability.optional(),
  }),
  /** Challenges a result with probability `probability` whether it is right or not, hoping to get the work free. */
  z.strictObject({
    ...jobCreatorCommon,
    strategy: z.literal('false-challenge'),
    probability: probability.default(1),
  }),
  /** Never answers: every deal settles by timeoutJudge. */
  z.strictObject({ ...jobCreatorCommon, strategy: z.literal('silent') }),
]);

const providerCommon = {
  count,
  ...groupDeposit,
  label: z.string().optional(),
  /** Jobs it runs at once: one open resource offer per slot. */
  slots: z.number().int().positive().default(1),
  spec: machineSpec.optional(),
  /** Overrides the scenario's prices.fixedPrice for this group. */
  fixedPrice: lp.optional(),
  /** Overrides the scenario's collateral.resultsMultiple for this group. */
  resultsMultiple: z.number().nonnegative().optional(),
};

const providerGroup = z.discriminatedUnion('strategy', [
  z.strictObject({ ...providerCommon, strategy: z.literal('honest') }),
  /** Skips the work and posts a wrong result with probability q, saving costs.cheatSaving. */
  z.strictObject({ ...providerCommon, strategy: z.literal('cheat'), q: probability.default(1) }),
  /** Takes deals and never submits: every deal ends in timeoutSubmit. */
  z.strictObject({ ...providerCommon, strategy: z.literal('lazy') }),
  /**
   * Chooses honest or cheat for each job by the mean payoff each has earned so far (ε-greedy, beliefs updated
   * between rounds): the payoff-maximizing provider of the theory. `learning: shared` (default) pools the
   * group's experience (outcomes are public on-chain; providers learn from their peers); `own` learns from its
   * own deals only, and shows the "hot stove" effect: a provider caught early stays honest longer than the
   * expected payoffs justify.
   */
  z.strictObject({
    ...providerCommon,
    strategy: z.literal('adaptive'),
    epsilon: probability.default(0.05),
    learning: z.enum(['shared', 'own']).default('shared'),
  }),
]);

const mediatorCommon = { count, label: z.string().optional(), ...groupDeposit };

const mediatorGroup = z.discriminatedUnion('strategy', [
  /** Re-runs the job and votes for the truth. */
  z.strictObject({ ...mediatorCommon, strategy: z.literal('honest') }),
  /** Votes for one party whatever the result, without re-running. */
  z.strictObject({
    ...mediatorCommon,
    strategy: z.literal('collude'),
    with: z.enum(['job-creator', 'resource-provider']),
  }),
  /** Never votes: a challenge it is drawn for can end only by timeoutMediate. */
  z.strictObject({ ...mediatorCommon, strategy: z.literal('absent') }),
]);

const sweepAxis = z.union([
  z.strictObject({ param: z.string().min(1), values: z.array(z.number()).min(1) }),
  z.strictObject({ param: z.string().min(1), from: z.number(), to: z.number(), step: z.number().positive() }),
]);
export type SweepAxisInput = z.input<typeof sweepAxis>;

export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1).default('scenario'),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().default(1),
    rounds: count.default(10),
    /** Jobs posted per round, spread uniformly over the round's window among all job creators. */
    jobsPerRound: count,
    roundSeconds: seconds.default(3600),
    prices: z
      .strictObject({
        /** The providers' price per job (fixed part), LP. */
        fixedPrice: lp.prefault(1),
        /** LP per instruction. */
        pricePerInstruction: lp.prefault(0),
        /** The most a job creator pays: the payment collateral P, LP. */
        maxPrice: lp.prefault(10),
      })
      .prefault({}),
    /** Instructions per job: the cost is fixedPrice + pricePerInstruction × instructions, capped at maxPrice. */
    instructions: z.number().int().nonnegative().default(1_000_000),
    collateral: z
      .strictObject({
        /** Timeout collateral Ts, LP. */
        timeout: lp.prefault(2),
        /** Results collateral R = max(mediation fee, resultsMultiple × cost). */
        resultsMultiple: z.number().nonnegative().default(2),
      })
      .prefault({}),
    mediation: z
      .strictObject({
        /** Mediation fee F, LP. */
        fee: lp.prefault(1),
        /** What each mediator stakes in the escrow; a mediator drawn that never votes loses min(stake, F). */
        stake: lp.prefault(10),
        /** A verdict needs k agreeing votes of the n mediators drawn for a challenge. */
        k: count.default(1),
        n: count.default(1),
      })
      .prefault({}),
    /** p: how often a `check` job creator re-runs a job (MODiCuM's verify probability). */
    checkProbability: probability.default(0),
    costs: z
      .strictObject({
        /** c: what running a job costs a provider, LP. */
        compute: lp.prefault(0.5),
        /** s: what cheating saves (skipping the work); at most the compute cost. */
        cheatSaving: lp.optional(),
        /** What a job creator spends to re-run a job when it checks, LP. */
        check: lp.prefault(0),
        /** What a mediator spends to re-run a challenged job, LP. */
        mediate: lp.prefault(0),
      })
      .prefault({}),
    /** The deal's timeouts, seconds. */
    timeouts: z
      .strictObject({
        submit: seconds.default(600),
        judge: seconds.default(600),
        mediate: seconds.default(600),
      })
      .prefault({}),
    /** How long each step takes in simulated time, seconds. */
    durations: z
      .strictObject({
        compute: seconds.default(60),
        judge: seconds.default(10),
        mediate: seconds.default(60),
      })
      .prefault({}),
    /** Every agent's initial escrow balance, LP (a group may set its own `deposit`). */
    deposit: lp.prefault(1_000_000),
    population: z.strictObject({
      jobCreators: z.array(jobCreatorGroup).min(1),
      resourceProviders: z.array(providerGroup).min(1),
      mediators: z.array(mediatorGroup).min(1),
    }),
    /** Default sweep for `lilypad sim sweep` when the command line gives none: one or two axes. */
    sweep: z.array(sweepAxis).min(1).max(2).optional(),
  })
  .transform((s, ctx) => {
    const cheatSaving = s.costs.cheatSaving ?? s.costs.compute;
    if (cheatSaving > s.costs.compute) {
      ctx.addIssue({
        code: 'custom',
        path: ['costs', 'cheatSaving'],
        message: 'cheating cannot save more than the work costs (costs.compute)',
      });
    }
    const mediators = s.population.mediators.reduce((sum, g) => sum + g.count, 0);
    if (mediators > MAX_MEDIATORS) {
      ctx.addIssue({
        code: 'custom',
        path: ['population', 'mediators'],
        message: `a deal names at most ${MAX_MEDIATORS} mediators (the contract's MAX_MEDIATORS), not ${mediators}`,
      });
    }
    if (s.mediation.n > mediators) {
      ctx.addIssue({
        code: 'custom',
        path: ['mediation', 'n'],
        message: `a challenge draws n = ${s.mediation.n} mediators but the population has ${mediators}`,
      });
    }
    if (s.mediation.k > s.mediation.n) {
      ctx.addIssue({
        code: 'custom',
        path: ['mediation', 'k'],
        message: `k = ${s.mediation.k} agreeing votes can never come from n = ${s.mediation.n} mediators`,
      });
    }
    s.population.mediators.forEach((group, i) => {
      if (s.mediation.stake > (group.deposit ?? s.deposit)) {
        ctx.addIssue({
          code: 'custom',
          path: ['mediation', 'stake'],
          message: `mediators of population.mediators[${i}] cannot stake more than their deposit`,
        });
      }
    });
    return { ...s, costs: { ...s.costs, cheatSaving } };
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type JobCreatorGroup = Scenario['population']['jobCreators'][number];
export type ProviderGroup = Scenario['population']['resourceProviders'][number];
export type MediatorGroup = Scenario['population']['mediators'][number];

/** `a.b[2].c` for a zod issue path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || '(top level)';
}

/** Validates a parsed scenario object; `source` names it in the error (a file name). */
export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const where = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${where}.` : '';
      return `${issue.keys.map((k) => `${prefix}${k}`).join(', ')}: not a scenario field`;
    }
    return `${where}: ${issue.message}`;
  });
  throw new ScenarioError(`${source} is not a valid scenario`, {
    details: lines.join('\n'),
    hint: 'see examples/sim/ for complete scenarios, and `lilypad sim run --help` for every field',
  });
}

/** Reads YAML (or JSON, which is YAML) text into a plain object, with the line of a syntax error. */
export function readScenarioText(text: string, source = 'scenario'): unknown {
  try {
    return source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ScenarioError(`${source} cannot be read as ${source.endsWith('.json') ? 'JSON' : 'YAML'}`, {
      details: (error as Error).message,
      cause: error,
    });
  }
}

/** A scenario file: the raw object (kept for reports and sweeps) and the validated scenario. */
export async function loadScenario(path: string): Promise<{ raw: ScenarioInput; scenario: Scenario }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read the scenario ${path}`, {
      details: (error as Error).message,
      cause: error,
    });
  }
  const raw = readScenarioText(text, path) as ScenarioInput;
  return { raw, scenario: parseScenario(raw, path) };
}
