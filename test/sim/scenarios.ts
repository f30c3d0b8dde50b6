/** Small scenarios for the simulator's tests: a base to override, field by field. */
import { parseScenario, type Scenario, type ScenarioInput } from '../../src/sim/scenario.js';

type Population = ScenarioInput['population'];

export const smallPopulation: Population = {
  jobCreators: [{ count: 4, strategy: 'check' }],
  resourceProviders: [{ count: 6, strategy: 'honest' }],
  mediators: [{ count: 3, strategy: 'honest' }],
};

export function rawScenario(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name: 'test',
    seed: 11,
    rounds: 3,
    jobsPerRound: 40,
    roundSeconds: 600,
    population: smallPopulation,
    ...overrides,
  };
}

export const scenario = (overrides: Partial<ScenarioInput> = {}): Scenario =>
  parseScenario(rawScenario(overrides), 'test scenario');
