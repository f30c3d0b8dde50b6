/**
 * Sweeps: the same scenario run over a grid of one or two parameters, named by their path in the scenario
 * file (`checkProbability`, `collateral.resultsMultiple`, `population.resourceProviders[0].q`). Every point
 * keeps the scenario's seed, so points differ only by the parameter (common random numbers) and the curves
 * are smooth. Each point is validated like a file: a bad path or value is refused, naming the field.
 */
import { simulate } from './engine.js';
import type { RunResult } from './results.js';
import { parseScenario, ScenarioError, type ScenarioInput, type SweepAxisInput } from './scenario.js';

export type SweepAxis = { param: string; values: number[] };

export type SweepPoint = {
  /** The swept parameters' values at this point, by path. */
  params: Record<string, number>;
  result: RunResult;
};

export type SweepResult = { scenario: string; seed: number; axes: SweepAxis[]; points: SweepPoint[] };

/** At most this many points per axis: a typo in a step should not start a night-long run. */
export const MAX_AXIS_POINTS = 1000;

/** The values of an axis; `from:to:step` ranges are rounded to 10 decimals so 0.1 + 0.2 prints as 0.3. */
export function axisValues(axis: SweepAxisInput): SweepAxis {
  if ('values' in axis) return { param: axis.param, values: [...axis.values] };
  const { from, to, step } = axis;
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  if (!(count >= 1) || count > MAX_AXIS_POINTS) {
    throw new ScenarioError(
      `the sweep of ${axis.param} from ${from} to ${to} by ${step} is not a usable range`,
      {
        hint: `from ≤ to, step > 0, at most ${MAX_AXIS_POINTS} points`,
      },
    );
  }
  return {
    param: axis.param,
    values: Array.from({ length: count }, (_, i) => Number((from + i * step).toFixed(10))),
  };
}

/**
 * Parses an axis written on the command line: `param=from:to:step` or `param=v1,v2,v3`.
 */
export function parseAxis(text: string): SweepAxis {
  const at = text.indexOf('=');
  const param = text.slice(0, at).trim();
  const spec = text.slice(at + 1).trim();
  const bad = () =>
    new ScenarioError(`"${text}" is not a sweep axis`, {
      hint: 'write param=from:to:step (e.g. checkProbability=0:0.5:0.05) or param=v1,v2,… (e.g. mediation.k=1,2,3)',
    });
  if (at <= 0 || spec === '') throw bad();
  const numbers = (parts: string[]) =>
    parts.map((p) => {
      const n = Number(p);
      if (p.trim() === '' || !Number.isFinite(n)) throw bad();
      return n;
    });
  if (spec.includes(':')) {
    const parts = numbers(spec.split(':'));
    if (parts.length !== 3) throw bad();
    const [from, to, step] = parts as [number, number, number];
    if (!(step > 0)) throw bad();
    return axisValues({ param, from, to, step });
  }
  return { param, values: numbers(spec.split(',')) };
}

/** `a.b[0].c` or `a.b.0.c` → ['a', 'b', 0, 'c']. */
export function splitPath(path: string): (string | number)[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** A deep copy of `raw` with the number at `path` replaced (objects on the way are created if missing). */
export function withParam(raw: ScenarioInput, path: string, value: number): ScenarioInput {
  const copy = structuredClone(raw) as Record<string | number, unknown>;
  const parts = splitPath(path);
  if (parts.length === 0) throw new ScenarioError('a sweep needs a parameter path, e.g. checkProbability');
  let node: Record<string | number, unknown> = copy;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string | number;
    const next = node[part];
    if (next === undefined && typeof part === 'string') {
      node[part] = {};
    } else if (typeof next !== 'object' || next === null) {
      throw new ScenarioError(
        `cannot sweep ${path}: ${parts.slice(0, i + 1).join('.')} is not in the scenario`,
      );
    }
    node = node[part] as Record<string | number, unknown>;
  }
  const last = parts[parts.length - 1] as string | number;
  const current = node[last];
  if (current !== undefined && typeof current !== 'number' && typeof current !== 'string') {
    throw new ScenarioError(`cannot sweep ${path}: it is not a number in the scenario`);
  }
  node[last] = value;
  return copy as ScenarioInput;
}

/** Every combination of the axes' values, the first axis varying slowest. */
export function gridPoints(axes: readonly SweepAxis[]): Record<string, number>[] {
  let points: Record<string, number>[] = [{}];
  for (const axis of axes) {
    points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.param]: v })));
  }
  return points;
}

/** Validates every point first (so a bad axis fails before any work), then runs them in order. */
export function sweep(
  raw: ScenarioInput,
  axes: readonly SweepAxis[],
  options: { onPoint?: (done: number, total: number, params: Record<string, number>) => void } = {},
): SweepResult {
  if (axes.length === 0 || axes.length > 2) {
    throw new ScenarioError(`a sweep varies one or two parameters, not ${axes.length}`);
  }
  const grid = gridPoints(axes);
  const scenarios = grid.map((params) => {
    let point = raw;
    for (const [path, value] of Object.entries(params)) point = withParam(point, path, value);
    const where = Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    return parseScenario(point, `the scenario at ${where}`);
  });
  const points: SweepPoint[] = [];
  scenarios.forEach((scenario, i) => {
    const params = grid[i] as Record<string, number>;
    points.push({ params, result: simulate(scenario).result });
    options.onPoint?.(i + 1, scenarios.length, params);
  });
  const first = scenarios[0];
  return { scenario: first?.name ?? 'scenario', seed: first?.seed ?? 0, axes: [...axes], points };
}
