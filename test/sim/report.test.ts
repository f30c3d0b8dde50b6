/** What a run and a sweep write: JSON, CSV, well-formed SVG charts and a self-contained HTML report. */
import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/sim/csv.js';
import { simulate } from '../../src/sim/engine.js';
import { lineChart } from '../../src/sim/line-chart.js';
import { runFiles, sweepFiles } from '../../src/sim/output.js';
import { niceTicks } from '../../src/sim/svg.js';
import { sweep } from '../../src/sim/sweep.js';
import { rawScenario, scenario } from './scenarios.js';

/** Every tag closed in order (a minimal XML well-formedness check: no parser dependency). */
function expectWellFormed(xml: string): void {
  const stack: string[] = [];
  for (const match of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match;
    if (selfClosing) continue;
    if (closing) expect(stack.pop(), `</${name}>`).toBe(name);
    else stack.push(name as string);
  }
  expect(stack).toEqual([]);
  expect(xml).not.toMatch(/NaN|undefined|Infinity/);
}

const adaptive = rawScenario({
  rounds: 6,
  jobsPerRound: 200,
  population: {
    jobCreators: [{ count: 5, strategy: 'check' }],
    resourceProviders: [{ count: 10, strategy: 'adaptive' }],
    mediators: [{ count: 1, strategy: 'honest' }],
  },
});

describe('run output', () => {
  const s = scenario(adaptive);
  const files = runFiles(s, simulate(s).result, 'lilypad sim run test.yaml');

  it('writes JSON, CSV, SVG and HTML', () => {
    expect(Object.keys(files).sort()).toEqual([
      'cheating-by-round.svg',
      'groups.csv',
      'outcomes.svg',
      'payoffs.svg',
      'report.html',
      'rounds.csv',
      'run.json',
    ]);
    const json = JSON.parse(files['run.json'] as string);
    expect(json.summary.deals).toBe(1200);
    expect(json.parameters['collateral.resultsMultiple']).toBe('2×');
    expect(files['rounds.csv']?.split('\n')[0]).toContain('round,jobs,deals');
    expect(files['rounds.csv']?.trim().split('\n')).toHaveLength(7);
  });

  it('draws well-formed SVG and a report with no outside resources', () => {
    for (const [name, text] of Object.entries(files)) if (name.endsWith('.svg')) expectWellFormed(text);
    const html = files['report.html'] as string;
    expect(html.replace(/xmlns="[^"]*"/g, '')).not.toMatch(/<script|<link|src=|https?:\/\//i);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('<td>collateral.resultsMultiple</td>');
    expect(html).toContain('cheating pays');
    expectWellFormed(html.replace(/<!doctype html>/i, '').replace(/<meta[^>]*>/g, ''));
  });
});

describe('sweep output', () => {
  it('draws the simulated cheating rate against p with the analytic threshold on the same chart', () => {
    const axes = [{ param: 'checkProbability', values: [0, 0.1, 0.2, 0.3] }];
    const result = sweep(adaptive, axes);
    const files = sweepFiles(scenario(adaptive), result, 'lilypad sim sweep test.yaml');
    expect(Object.keys(files).sort()).toEqual([
      'cheating-gain.svg',
      'cheating-rate.svg',
      'report.html',
      'sweep.csv',
      'sweep.json',
    ]);
    const chart = files['cheating-rate.svg'] as string;
    expectWellFormed(chart);
    expect(chart).toContain('analytic threshold 0.167');
    expect(chart).toContain('>simulated<');
    expect(chart).toContain('>theory: rational provider, honest mediators<');
    const csv = (files['sweep.csv'] as string).trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]?.startsWith('checkProbability,jobs,')).toBe(true);
    expect(files['report.html']).toContain('Analytic threshold p* = s / (r + f) = 0.166667');
  });

  it('draws a heatmap with the threshold curve for two parameters', () => {
    const result = sweep(rawScenario({ ...adaptive, rounds: 2, jobsPerRound: 60 }), [
      { param: 'checkProbability', values: [0, 0.2, 0.4] },
      { param: 'collateral.resultsMultiple', values: [1, 3] },
    ]);
    const files = sweepFiles(scenario(adaptive), result, 'x');
    const heatmap = files['cheating-rate-heatmap.svg'] as string;
    expectWellFormed(heatmap);
    expect(heatmap.match(/<rect [^>]*fill="rgb\(/g)?.length).toBeGreaterThanOrEqual(6);
    expect(heatmap).toContain('analytic threshold');
  });
});

describe('chart and table helpers', () => {
  it('picks nice ticks and escapes text', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0.4)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    const svg = lineChart({
      title: 'a < b & "c"',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 's', points: [[0, 1]] }],
    });
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expectWellFormed(svg);
  });

  it('quotes CSV cells that need it', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 'say "hi"'],
          [1, null],
        ],
      ),
    ).toBe('a,b\n"x,y","say ""hi"""\n1,\n');
  });
});
