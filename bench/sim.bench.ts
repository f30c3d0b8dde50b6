/**
 * The market simulator at scale: examples/sim/scale.yaml (10,000 resource providers, 100,000 jobs, every
 * strategy, a 2-of-3 mediator consortium). After a short warm-up run, the full scenario runs three times;
 * the figure is the median, in jobs simulated per second of wall time.
 */
import { fileURLToPath } from 'node:url';
import { simulate } from '../src/sim/engine.js';
import { loadScenario } from '../src/sim/scenario.js';

export const name = 'sim';
const RUNS = 3;

export async function run(): Promise<Record<string, number>> {
  const { scenario } = await loadScenario(
    fileURLToPath(new URL('../examples/sim/scale.yaml', import.meta.url)),
  );
  simulate({ ...scenario, rounds: 2 }); // warm-up: let the JIT see every path
  const rates: number[] = [];
  let jobs = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const { result } = simulate(scenario);
    const seconds = (performance.now() - started) / 1000;
    jobs = result.summary.jobs;
    rates.push(jobs / seconds);
  }
  rates.sort((a, b) => a - b);
  const providers = scenario.population.resourceProviders.reduce((n, g) => n + g.count, 0);
  return {
    sim_jobs_per_s: Math.round(rates[Math.floor(RUNS / 2)] as number),
    sim_providers: providers,
    sim_jobs: jobs,
  };
}
