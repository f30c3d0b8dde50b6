/**
 * Writes a run or a sweep to a folder: JSON of everything, CSV tables, one SVG per chart and report.html
 * (the charts inline, so the one file is enough to share). Nothing in them depends on the clock or the
 * machine: the same scenario and seed write the same bytes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCharts, sweepCharts } from './charts.js';
import { flatten, objectsToCsv } from './csv.js';
import { runReport, sweepReport } from './html-report.js';
import { parameterRows } from './parameters.js';
import type { RunResult } from './results.js';
import type { Scenario } from './scenario.js';
import type { SweepResult } from './sweep.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function writeAll(dir: string, files: Record<string, string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(files).sort();
  for (const name of names) await writeFile(join(dir, name), files[name] as string);
  return names.map((name) => join(dir, name));
}

/** The files of one run, by name. */
export function runFiles(scenario: Scenario, result: RunResult, command: string): Record<string, string> {
  const parameters = parameterRows(scenario);
  const charts = runCharts(result);
  const files: Record<string, string> = {
    'run.json': json({
      scenario: result.scenario,
      seed: result.seed,
      parameters: Object.fromEntries(parameters.map((p) => [p.name, p.value])),
      summary: result.summary,
      groups: result.groups,
      rounds: result.rounds,
    }),
    'rounds.csv': objectsToCsv(result.rounds.map((r) => flatten(r))),
    'groups.csv': objectsToCsv(result.groups.map((g) => flatten(g))),
    'report.html': runReport({
      result,
      description: scenario.description,
      dishonestMediators: scenario.population.mediators.some((g) => g.strategy !== 'honest'),
      parameters,
      charts,
      command,
    }),
  };
  for (const chart of charts) files[chart.file] = `${chart.svg}\n`;
  return files;
}

/** The files of a sweep, by name: one CSV row and one JSON entry per run. */
export function sweepFiles(scenario: Scenario, sweep: SweepResult, command: string): Record<string, string> {
  const parameters = parameterRows(scenario);
  const charts = sweepCharts(sweep);
  const files: Record<string, string> = {
    'sweep.json': json({
      scenario: sweep.scenario,
      seed: sweep.seed,
      axes: sweep.axes,
      parameters: Object.fromEntries(parameters.map((p) => [p.name, p.value])),
      runs: sweep.points.map((p) => ({
        params: p.params,
        summary: p.result.summary,
        groups: p.result.groups,
      })),
    }),
    'sweep.csv': objectsToCsv(sweep.points.map((p) => ({ ...p.params, ...flatten(p.result.summary) }))),
    'report.html': sweepReport({ sweep, description: scenario.description, parameters, charts, command }),
  };
  for (const chart of charts) files[chart.file] = `${chart.svg}\n`;
  return files;
}

export const writeRun = (dir: string, scenario: Scenario, result: RunResult, command: string) =>
  writeAll(dir, runFiles(scenario, result, command));

export const writeSweep = (dir: string, scenario: Scenario, sweep: SweepResult, command: string) =>
  writeAll(dir, sweepFiles(scenario, sweep, command));
