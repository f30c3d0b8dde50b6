import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { LilypadError } from '../../protocol/errors.js';
import { simulate } from '../../sim/engine.js';
import { writeRun, writeSweep } from '../../sim/output.js';
import { progressBar } from '../../sim/progress-bar.js';
import { loadScenario, parseScenario, type ScenarioInput } from '../../sim/scenario.js';
import { axisValues, parseAxis, type SweepAxis, sweep } from '../../sim/sweep.js';

const scenarioHelp = `
A scenario (YAML or JSON; every field but jobsPerRound and population has a default):
  name, description, seed              same seed → same output, byte for byte
  rounds, jobsPerRound, roundSeconds   jobs arrive at random in each round; adaptive agents learn between rounds
  prices: fixedPrice, pricePerInstruction, maxPrice        LP; maxPrice is the payment collateral P
  instructions                         per job: cost r = min(P, fixedPrice + pricePerInstruction × instructions)
  collateral: timeout, resultsMultiple Ts in LP; R = max(F, resultsMultiple × r) is what a caught cheater loses
  mediation: fee, k, n, stake          F in LP; a verdict needs k agreeing votes of n mediators drawn
  checkProbability                     p: how often a "check" job creator re-runs a job
  costs: compute, cheatSaving, check, mediate              off-chain costs in LP (c, s, …)
  timeouts / durations: submit|compute, judge, mediate     seconds
  deposit                              every agent's initial escrow, LP
  population:
    jobCreators:       [{ count, strategy: trusting | check (checkProbability) | false-challenge (probability) | silent }]
    resourceProviders: [{ count, strategy: honest | cheat (q) | lazy | adaptive (epsilon, learning: shared|own), slots }]
    mediators:         [{ count, strategy: honest | collude (with: job-creator|resource-provider) | absent }]
  sweep: [{ param, from, to, step } | { param, values }]    the default axes of \`lilypad sim sweep\`
Amounts of LP are numbers or decimal strings ("0.000001"). Complete examples: examples/sim/*.yaml.

The theory it checks (MODiCuM): a provider that cheats saves s; caught (probability p), it loses the payment
r and its collateral f = R. Cheating pays only while p·(r + f) < s, i.e. below p* = s / (r + f).
`;

const parseSeed = (value: string) => {
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0)
    throw new InvalidArgumentError(`"${value}" is not a seed (an integer ≥ 0)`);
  return seed;
};

const collectAxis = (value: string, axes: SweepAxis[] = []) => {
  try {
    return [...axes, parseAxis(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

/** The command line that reproduces a run, for the report's footer. */
const commandLine = (args: string[]) =>
  `lilypad sim ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;

const withSeed = (raw: ScenarioInput, seed: number | undefined): ScenarioInput =>
  seed === undefined ? raw : { ...raw, seed };

export function registerSim(program: Command): void {
  const sim = program
    .command('sim')
    .summary('simulate the market to test its economics (game theory, MODiCuM)')
    .description(
      'The market simulator. Job creators, resource providers, mediators and the solver ' +
        'play a scenario in simulated time, with the protocol’s own matching and payout ' +
        'code (src/protocol/settlement.ts). Providers: honest, cheating with ' +
        'probability q, lazy, or adaptive (they learn whether cheating pays). Job ' +
        'creators: trusting, checking with probability p, challenging falsely, or ' +
        'silent. Mediators: honest, colluding with a party, or absent. Each run writes ' +
        'JSON, CSV, SVG charts and a self-contained report.html.',
    )
    .addHelpText(
      'after',
      `${scenarioHelp}
Examples:
  $ lilypad sim run examples/sim/deterrence.yaml --out sim-out/deterrence
  $ lilypad sim sweep examples/sim/deterrence.yaml --vary checkProbability=0:0.5:0.025
  $ lilypad sim sweep examples/sim/collusion.yaml --vary mediation.k=1,2,3
`,
    );

  sim
    .command('run')
    .summary('run one scenario and write its report')
    .description(
      'Run SCENARIO once. Prints the key figures; writes run.json, rounds.csv, ' +
        'groups.csv, the charts (SVG) and report.html to --out.',
    )
    .argument('<scenario>', 'a scenario file, .yaml or .json')
    .option('--out <dir>', 'where to write the results (default sim-out/<scenario name>)')
    .option('--seed <n>', "override the scenario's seed", parseSeed)
    .option('--json', 'print the run summary as JSON on stdout instead of text', false)
    .addHelpText('after', scenarioHelp)
    .action(async (file: string, flags: { out?: string; seed?: number; json: boolean }) => {
      const loaded = await loadScenario(file);
      const scenario = parseScenario(withSeed(loaded.raw, flags.seed), file);
      const bar = progressBar(scenario.rounds, { label: 'rounds' });
      const started = performance.now();
      const { result } = simulate(scenario, { onRound: (done) => bar.update(done) });
      bar.finish();
      const seconds = (performance.now() - started) / 1000;
      const out = flags.out ?? join('sim-out', scenario.name);
      const args = [
        'run',
        file,
        '--out',
        out,
        ...(flags.seed === undefined ? [] : ['--seed', String(flags.seed)]),
      ];
      await writeRun(out, scenario, result, commandLine(args));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
        return;
      }
      const s = result.summary;
      const lines = [
        `${scenario.name}: ${s.jobs} jobs, ${s.deals} deals in ${seconds.toFixed(2)} s (${Math.round(s.jobs / seconds)} jobs/s)`,
        `  outcomes       ${Object.entries(s.outcomes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `  wrong results  ${s.cheats} (${(s.cheatingRate * 100).toFixed(1)}%), caught ${s.cheatsCaught}, accepted ${s.wrongResultsAccepted}`,
        ...(s.adaptive
          ? [
              `  adaptive       cheat in ${(s.adaptive.cheatingRate * 100).toFixed(1)}% of deals (second half of the rounds)`,
            ]
          : []),
        `  theory         p = ${s.detectionProbability}, p* = s/(r+f) = ${s.theory.threshold}: with honest mediators, cheating ${s.theory.cheatingPays ? 'pays' : 'does not pay'}`,
        `  escrow         invariant ${s.escrowInvariantHolds ? 'holds' : 'BROKEN'}`,
        `report: ${join(out, 'report.html')}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  sim
    .command('sweep')
    .summary('run a scenario over a grid of one or two parameters')
    .description(
      'Run SCENARIO for every value of one or two parameters. Every point keeps the ' +
        'seed, so points differ only by the parameter. A parameter is a path in the ' +
        'scenario: checkProbability, collateral.resultsMultiple, mediation.fee, ' +
        'population.resourceProviders[0].q, … Writes sweep.json, sweep.csv (one row per ' +
        'run), the charts (the simulated cheating rate against the parameter with the ' +
        'analytic threshold on the same chart; a heatmap for two parameters) and ' +
        "report.html. Without --vary, the scenario's own `sweep:` axes are used.",
    )
    .argument('<scenario>', 'a scenario file, .yaml or .json')
    .option('--vary <param=from:to:step|param=v1,v2>', 'a parameter to sweep (once or twice)', collectAxis)
    .option('--out <dir>', 'where to write the results (default sim-out/<scenario name>-sweep)')
    .option('--seed <n>', "override the scenario's seed", parseSeed)
    .option('--json', 'print one JSON line per run (params and summary) on stdout', false)
    .addHelpText('after', scenarioHelp)
    .action(
      async (file: string, flags: { vary?: SweepAxis[]; out?: string; seed?: number; json: boolean }) => {
        const loaded = await loadScenario(file);
        const raw = withSeed(loaded.raw, flags.seed);
        const scenario = parseScenario(raw, file);
        const axes = flags.vary ?? (scenario.sweep ?? []).map(axisValues);
        if (axes.length === 0) {
          throw new LilypadError('nothing to sweep', {
            hint: `give --vary param=from:to:step (e.g. checkProbability=0:0.5:0.05), or a sweep: list in ${file}`,
          });
        }
        const total = axes.reduce((n, a) => n * a.values.length, 1);
        const bar = progressBar(total, { label: 'sweep' });
        const result = sweep(raw, axes, {
          onPoint: (done, _, params) =>
            bar.update(
              done,
              Object.entries(params)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ),
        });
        bar.finish();
        const out = flags.out ?? join('sim-out', `${scenario.name}-sweep`);
        const args = [
          'sweep',
          file,
          ...axes.flatMap((a) => ['--vary', `${a.param}=${a.values.join(',')}`]),
          '--out',
          out,
          ...(flags.seed === undefined ? [] : ['--seed', String(flags.seed)]),
        ];
        await writeSweep(out, scenario, result, commandLine(args));
        if (flags.json) {
          for (const p of result.points)
            process.stdout.write(`${JSON.stringify({ params: p.params, summary: p.result.summary })}\n`);
          return;
        }
        process.stdout.write(`${result.points.length} runs; report: ${join(out, 'report.html')}\n`);
      },
    );
}
