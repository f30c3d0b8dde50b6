/** Sweep axes: parsing, paths into the scenario, the grid, and validation before any run. */
import { describe, expect, it } from 'vitest';
import { axisValues, gridPoints, parseAxis, splitPath, sweep, withParam } from '../../src/sim/sweep.js';
import { rawScenario } from './scenarios.js';

describe('sweeps', () => {
  it('parses from:to:step and lists, without float drift', () => {
    expect(parseAxis('checkProbability=0:0.3:0.1')).toEqual({
      param: 'checkProbability',
      values: [0, 0.1, 0.2, 0.3],
    });
    expect(parseAxis('mediation.k=1,2,3')).toEqual({ param: 'mediation.k', values: [1, 2, 3] });
    expect(axisValues({ param: 'x', values: [5] })).toEqual({ param: 'x', values: [5] });
    for (const bad of ['checkProbability', '=1,2', 'p=0:1', 'p=0:1:0', 'p=a,b', 'p=1,,2']) {
      expect(() => parseAxis(bad), bad).toThrow(/is not a sweep axis/);
    }
    expect(() => axisValues({ param: 'p', from: 0, to: 1e9, step: 1 })).toThrow(/not a usable range/);
  });

  it('sets a parameter by its path, creating defaulted sections', () => {
    expect(splitPath('population.resourceProviders[1].q')).toEqual([
      'population',
      'resourceProviders',
      1,
      'q',
    ]);
    const raw = rawScenario();
    const changed = withParam(raw, 'collateral.resultsMultiple', 3);
    expect(changed.collateral).toEqual({ resultsMultiple: 3 });
    expect(raw.collateral).toBeUndefined(); // a copy
    expect(
      withParam(raw, 'population.resourceProviders.0.count', 9).population.resourceProviders[0]?.count,
    ).toBe(9);
    expect(() => withParam(raw, 'population.nobody[3].q', 1)).toThrow(/is not in the scenario/);
    expect(() => withParam(raw, 'population', 1)).toThrow(/not a number/);
  });

  it('runs every point of a two-parameter grid, first axis slowest', () => {
    const axes = [
      { param: 'checkProbability', values: [0, 0.5] },
      { param: 'mediation.fee', values: [1, 2] },
    ];
    expect(gridPoints(axes)).toEqual([
      { checkProbability: 0, 'mediation.fee': 1 },
      { checkProbability: 0, 'mediation.fee': 2 },
      { checkProbability: 0.5, 'mediation.fee': 1 },
      { checkProbability: 0.5, 'mediation.fee': 2 },
    ]);
    const seen: number[] = [];
    const result = sweep(rawScenario({ rounds: 1, jobsPerRound: 10 }), axes, {
      onPoint: (done) => seen.push(done),
    });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(result.points.map((p) => p.result.summary.detectionProbability)).toEqual([0, 0, 0.5, 0.5]);
  });

  it('refuses a bad point before running anything, naming the field', () => {
    let runs = 0;
    expect(() =>
      sweep(rawScenario(), [{ param: 'checkProbability', values: [0.5, 2] }], { onPoint: () => runs++ }),
    ).toThrow(/the scenario at checkProbability=2 is not a valid scenario/);
    expect(runs).toBe(0);
    expect(() => sweep(rawScenario(), [{ param: 'checkProbabilty', values: [0.5] }])).toThrow(
      /not a valid scenario/,
    );
  });
});
