/** Scenario files: defaults, amounts in token units, and errors that name the bad field. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { parseScenario, readScenarioText, ScenarioError } from '../../src/sim/scenario.js';
import { rawScenario } from './scenarios.js';

const examples = new URL('../../examples/sim/', import.meta.url).pathname;

function problems(value: unknown): string {
  try {
    parseScenario(value, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).describe();
  }
  throw new Error('the scenario was accepted');
}

describe('scenario files', () => {
  it('fills in defaults and turns LP into token units exactly', () => {
    const s = parseScenario(rawScenario({ prices: { pricePerInstruction: '0.000001', fixedPrice: 0.1 } }));
    expect(s.prices.fixedPrice).toBe(parseEther('0.1'));
    expect(s.prices.pricePerInstruction).toBe(10n ** 12n);
    expect(s.prices.maxPrice).toBe(parseEther('10'));
    expect(s.mediation).toEqual({ fee: parseEther('1'), stake: parseEther('10'), k: 1, n: 1 });
    expect(s.costs.cheatSaving).toBe(s.costs.compute); // cheating saves all the work unless told
    expect(
      parseScenario(rawScenario({ prices: { pricePerInstruction: 1e-7 } })).prices.pricePerInstruction,
    ).toBe(10n ** 11n);
  });

  it('names every bad field by its path', () => {
    const text = problems(
      rawScenario({
        checkProbability: 1.5,
        population: {
          jobCreators: [{ count: 1, strategy: 'chek' as 'check' }],
          resourceProviders: [{ count: 1, strategy: 'cheat', q: 2 }],
          mediators: [{ count: 1, strategy: 'collude' } as never],
        },
        colateral: { timeout: 1 },
      } as never),
    );
    expect(text).toContain('bad.yaml is not a valid scenario');
    expect(text).toContain('checkProbability: ');
    expect(text).toContain(
      "population.jobCreators[0].strategy: Invalid discriminator value. Expected 'trusting'",
    );
    expect(text).toContain('population.resourceProviders[0].q: ');
    expect(text).toContain('population.mediators[0].with: ');
    expect(text).toContain('colateral: not a scenario field');
    expect(text).toContain('hint: see examples/sim/');
  });

  it('checks the rules between fields', () => {
    const text = problems(
      rawScenario({
        costs: { compute: 0.5, cheatSaving: 1 },
        mediation: { k: 3, n: 4, stake: 2 },
        deposit: 1,
      }),
    );
    expect(text).toContain('costs.cheatSaving: cheating cannot save more than the work costs');
    expect(text).toContain('mediation.n: a challenge draws n = 4 mediators but the population has 3');
    expect(text).toContain('mediation.stake: mediators of population.mediators[0] cannot stake more');
    expect(problems(rawScenario({ mediation: { k: 2, n: 1 } }))).toContain(
      'mediation.k: k = 2 agreeing votes',
    );
    expect(problems(rawScenario({ prices: { fixedPrice: '1.0000000000000000001' } }))).toContain(
      'prices.fixedPrice',
    );
  });

  it('says where a YAML file is broken', () => {
    expect(() => readScenarioText('name: [unclosed', 'broken.yaml')).toThrow(
      /broken.yaml cannot be read as YAML/,
    );
    expect(() => readScenarioText('{"name":', 'broken.json')).toThrow(/broken.json cannot be read as JSON/);
  });

  it('accepts every example scenario', async () => {
    const files = (await readdir(examples)).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const text = await readFile(join(examples, file), 'utf8');
      expect(() => parseScenario(readScenarioText(text, file), file), file).not.toThrow();
    }
  });
});
