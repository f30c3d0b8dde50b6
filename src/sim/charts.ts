/**
 * The charts of a run and of a sweep, built from their results: what a person should look at first.
 * For a sweep, the simulated cheating rate against the swept parameter with the analytic threshold on the
 * same chart, and the simulated gain from cheating against the theory's s − p·(r + f).
 */
import { barChart } from './bar-chart.js';
import { heatmap } from './heatmap.js';
import { lineChart } from './line-chart.js';
import type { RunResult } from './results.js';
import type { SweepResult } from './sweep.js';

export type Chart = { file: string; title: string; svg: string };

const percent = (v: number) => `${Math.round(v * 100)}%`;
/** 0–100 % with a little room, so lines at 0 and 100 % do not hide in the frame. */
const rateDomain: [number, number] = [-0.04, 1.04];
const rate = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Labels for the parameters people sweep most. */
export function paramLabel(path: string): string {
  const known: Record<string, string> = {
    checkProbability: 'check probability p',
    'collateral.resultsMultiple': 'results collateral multiple',
    'mediation.fee': 'mediation fee F (LP)',
    'costs.cheatSaving': 'saving from cheating s (LP)',
    'prices.fixedPrice': 'price per job r (LP)',
  };
  return known[path] ?? path;
}

/** The cheating rate a sweep plots: adaptive providers' (they are the theory's rational agents), else all. */
export function plottedCheatingRate(result: RunResult): number {
  return result.summary.adaptive ? result.summary.adaptive.cheatingRate : result.summary.cheatingRate;
}

/** s − p·(r + f): positive where cheating pays (the theory's margin), LP per job. */
export function cheatingMargin(result: RunResult): number {
  const { theory, detectionProbability: p } = result.summary;
  return theory.saving - p * (theory.payment + theory.collateral);
}

/** Where the margin changes sign along x (linear interpolation; exact for p, which it is linear in). */
export function analyticCrossing(xs: readonly number[], margins: readonly number[]): number | undefined {
  for (let i = 1; i < xs.length; i++) {
    const m0 = margins[i - 1] as number;
    const m1 = margins[i] as number;
    if (m0 === 0) return xs[i - 1];
    if ((m0 > 0 && m1 <= 0) || (m0 < 0 && m1 >= 0)) {
      const x0 = xs[i - 1] as number;
      const x1 = xs[i] as number;
      return x0 + (m0 / (m0 - m1)) * (x1 - x0);
    }
  }
  return undefined;
}

export function runCharts(result: RunResult): Chart[] {
  const charts: Chart[] = [];
  const { summary } = result;
  const series = [
    {
      name: 'all providers',
      points: result.rounds.map((r) => [r.round + 1, rate(r.cheats, r.deals)] as const),
      markers: true,
    },
  ];
  if (summary.adaptive) {
    series.push({
      name: 'adaptive providers',
      points: result.rounds.map((r) => [r.round + 1, rate(r.adaptiveCheats, r.adaptiveDeals)] as const),
      markers: true,
    });
    const predicted = summary.theory.cheatingPays ? 1 : 0;
    series.push({
      name: `theory: a rational provider ${predicted ? 'cheats' : 'is honest'}`,
      points: result.rounds.map((r) => [r.round + 1, predicted] as const),
      markers: false,
    });
  }
  charts.push({
    file: 'cheating-by-round.svg',
    title: 'Cheating rate by round',
    svg: lineChart({
      title: 'Cheating rate by round',
      subtitle: `p = ${summary.detectionProbability}, threshold p* = s/(r+f) = ${summary.theory.threshold}`,
      xLabel: 'round',
      yLabel: 'share of deals with a wrong result',
      yDomain: rateDomain,
      yFormat: percent,
      series: series.map((s, i) => (i === 2 ? { ...s, dashed: true, color: '#444' } : s)),
    }),
  });
  charts.push({
    file: 'outcomes.svg',
    title: 'How deals ended',
    svg: barChart({
      title: 'How deals ended',
      subtitle: `${summary.deals} deals, ${summary.cheats} with a wrong result, ${summary.cheatsCaught} of those caught`,
      xLabel: 'deals',
      bars: Object.entries(summary.outcomes).map(([label, value]) => ({ label, value })),
    }),
  });
  charts.push({
    file: 'payoffs.svg',
    title: 'Payoff per agent by group',
    svg: barChart({
      title: 'Payoff per agent by group',
      subtitle: 'escrow gained minus off-chain costs (computing, checking, re-running), LP',
      xLabel: 'LP per agent',
      bars: result.groups.map((g) => ({ label: `${g.role}: ${g.label}`, value: g.payoffPerAgent })),
    }),
  });
  return charts;
}

export function sweepCharts(sweep: SweepResult): Chart[] {
  const [xAxis, yAxis] = sweep.axes;
  if (!xAxis) return [];
  if (yAxis) return [sweepHeatmap(sweep)];
  const xs = sweep.points.map((p) => p.params[xAxis.param] as number);
  const results = sweep.points.map((p) => p.result);
  const xLabel = paramLabel(xAxis.param);
  const margins = results.map(cheatingMargin);
  const crossing = analyticCrossing(xs, margins);
  // The rational provider's choice: cheat (1) while the margin is positive, switching exactly at the crossing.
  const pays = (i: number) => ((margins[i] as number) > 0 ? 1 : 0);
  const last = xs.length - 1;
  const theory: [number, number][] =
    crossing === undefined
      ? xs.map((x, i) => [x, pays(i)])
      : [
          [xs[0] as number, pays(0)],
          [crossing, pays(0)],
          [crossing, pays(last)],
          [xs[last] as number, pays(last)],
        ];
  const markers =
    crossing === undefined
      ? []
      : [{ x: crossing, label: `analytic threshold ${Number(crossing.toPrecision(3))}`, color: '#b2182b' }];
  const adaptive = results.some((r) => r.summary.adaptive);
  const charts: Chart[] = [];
  charts.push({
    file: 'cheating-rate.svg',
    title: `Cheating rate vs ${xLabel}`,
    svg: lineChart({
      title: `Cheating rate vs ${xLabel}`,
      subtitle: adaptive
        ? 'adaptive providers, second half of the rounds; theory: a rational provider cheats iff p·(r + f) < s'
        : 'all providers; theory: a rational provider cheats iff p·(r + f) < s',
      xLabel,
      yLabel: 'share of deals with a wrong result',
      yDomain: rateDomain,
      yFormat: percent,
      markers,
      series: [
        {
          name: 'simulated',
          points: xs.map((x, i) => [x, plottedCheatingRate(results[i] as RunResult)]),
          markers: true,
        },
        { name: 'theory: rational provider, honest mediators', points: theory, dashed: true, color: '#444' },
      ],
    }),
  });
  if (adaptive) {
    charts.push({
      file: 'cheating-gain.svg',
      title: `Gain from cheating vs ${xLabel}`,
      svg: lineChart({
        title: `Gain from cheating vs ${xLabel}`,
        subtitle: 'mean payoff per deal of cheating minus of honest work, LP; theory: s − p·(r + f)',
        xLabel,
        yLabel: 'LP per deal',
        markers,
        series: [
          {
            name: 'simulated (what adaptive providers earned)',
            points: xs.flatMap((x, i) => {
              const earned = (results[i] as RunResult).summary.adaptive?.payoffPerDeal;
              return earned?.cheat != null && earned.honest != null
                ? [[x, earned.cheat - earned.honest] as const]
                : [];
            }),
            markers: true,
          },
          {
            name: 'theory',
            points: xs.map((x, i) => [x, cheatingMargin(results[i] as RunResult)]),
            dashed: true,
            color: '#444',
          },
        ],
      }),
    });
  }
  return charts;
}

function sweepHeatmap(sweep: SweepResult): Chart {
  const [xAxis, yAxis] = sweep.axes as [SweepResult['axes'][0], SweepResult['axes'][0]];
  const at = new Map(
    sweep.points.map((p) => [`${p.params[xAxis.param]}|${p.params[yAxis.param]}`, p.result] as const),
  );
  const result = (i: number, j: number) => at.get(`${xAxis.values[i]}|${yAxis.values[j]}`);
  const overlay: [number, number][] = [];
  yAxis.values.forEach((y, j) => {
    const margins = xAxis.values.map((_, i) => {
      const r = result(i, j);
      return r ? cheatingMargin(r) : 0;
    });
    const x = analyticCrossing(xAxis.values, margins);
    if (x !== undefined) overlay.push([x, y]);
  });
  const title = 'Cheating rate, simulated, against the analytic threshold';
  return {
    file: 'cheating-rate-heatmap.svg',
    title,
    svg: heatmap({
      title,
      subtitle: `colour: the simulated cheating rate for each ${paramLabel(xAxis.param)} and ${paramLabel(yAxis.param)}; dashed: where p·(r + f) = s${xAxis.param === 'checkProbability' ? ', a rational provider cheats to its left' : ''}`,
      xLabel: paramLabel(xAxis.param),
      yLabel: paramLabel(yAxis.param),
      xs: xAxis.values,
      ys: yAxis.values,
      value: (i, j) => {
        const r = result(i, j);
        return r ? plottedCheatingRate(r) : undefined;
      },
      colorLabel: 'cheating rate',
      overlay: { name: 'analytic threshold', points: overlay },
    }),
  };
}
