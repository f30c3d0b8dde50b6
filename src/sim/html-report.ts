/**
 * A self-contained HTML report: the findings in a sentence or two, the charts (inline SVG), the table of
 * parameters and the numbers behind the charts. One file, no scripts, no network: it opens anywhere.
 */
import type { Chart } from './charts.js';
import { cheatingMargin, paramLabel, plottedCheatingRate } from './charts.js';
import type { ParameterRow } from './parameters.js';
import type { RunResult } from './results.js';
import { escapeXml } from './svg.js';
import type { SweepResult } from './sweep.js';
import { crossing } from './theory.js';

const style = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; margin: 0; background: #f6f6f4; }
main { max-width: 980px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.lead { color: #444; margin: 0 0 18px; }
.findings { background: #fff; border-left: 4px solid #0072b2; padding: 12px 18px; margin: 18px 0; }
.findings li { margin: 4px 0; }
.bad { color: #b2182b; font-weight: 600; } .good { color: #1b7837; font-weight: 600; }
figure { background: #fff; margin: 16px 0; padding: 10px; border: 1px solid #e2e2e2; }
figure svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 13.5px; }
th, td { border: 1px solid #e0e0e0; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f0f0ee; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #ecece8; padding: 1px 5px; border-radius: 3px; font-size: 13px; }
footer { color: #666; font-size: 13px; margin-top: 36px; }
`;

const esc = escapeXml;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${style}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((cell) => (typeof cell === 'number' ? `<td class="n">${esc(String(cell))}</td>` : `<td>${esc(cell)}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const figures = (charts: readonly Chart[]) => charts.map((c) => `<figure>\n${c.svg}\n</figure>`).join('\n');

const parameterTable = (rows: readonly ParameterRow[]) =>
  table(
    ['parameter', 'value', 'meaning'],
    rows.map((r) => [r.name, r.value, r.meaning]),
  );

export function runReport(input: {
  result: RunResult;
  /** Some mediators collude or never vote: the theory's honest mediation does not hold. */
  dishonestMediators: boolean;
  description?: string;
  parameters: readonly ParameterRow[];
  charts: readonly Chart[];
  command: string;
}): string {
  const { result } = input;
  const s = result.summary;
  const t = s.theory;
  const findings: string[] = [];
  findings.push(
    `${s.deals} deals from ${s.jobs} jobs; ${s.cheats} (${pct(s.cheatingRate)}) had a wrong result, ${s.cheatsCaught} of them were caught by a mediation and ${s.wrongResultsAccepted} were accepted.`,
  );
  findings.push(
    `Theory: with p = ${s.detectionProbability}, r = ${t.payment} LP, f = ${t.collateral} LP and s = ${t.saving} LP, p·(r + f) = ${Number((s.detectionProbability * (t.payment + t.collateral)).toPrecision(4))} ${t.cheatingPays ? '&lt;' : '≥'} s: ${t.cheatingPays ? '<span class="bad">cheating pays</span>' : '<span class="good">cheating does not pay</span>'} (threshold p* = ${t.threshold})${input.dishonestMediators ? '. The theory assumes honest mediators; this market has mediators that collude or stay away' : ''}.`,
  );
  if (s.adaptive) {
    findings.push(
      `Adaptive providers cheated in ${pct(s.adaptive.cheatingRate)} of their deals in the second half of the rounds (${pct(s.adaptive.cheatingRateAllRounds)} over all rounds).`,
    );
  }
  if (s.wrongVerdicts > 0)
    findings.push(`<span class="bad">${s.wrongVerdicts} verdicts contradicted the truth</span> (collusion).`);
  findings.push(
    s.escrowInvariantHolds
      ? `Escrow invariant held: Σ free + Σ locked = ${s.escrowHeld} LP held.`
      : '<span class="bad">The escrow invariant did not hold.</span>',
  );
  const body = `
<h1>Market simulation: ${esc(result.scenario)}</h1>
<p class="lead">${input.description ? `${esc(input.description)} ` : ''}Seed ${result.seed}.</p>
<div class="findings"><ul>${findings.map((f) => `<li>${f}</li>`).join('')}</ul></div>
<h2>Charts</h2>
${figures(input.charts)}
<h2>Parameters</h2>
${parameterTable(input.parameters)}
<h2>Groups</h2>
${table(
  [
    'role',
    'group',
    'agents',
    'deals',
    'cheats',
    'payoff / agent (LP)',
    'payoff / deal (LP)',
    'escrow change (LP)',
    'spent off-chain (LP)',
  ],
  result.groups.map((g) => [
    g.role,
    g.label,
    g.agents,
    g.deals,
    g.cheats,
    g.payoffPerAgent,
    g.payoffPerDeal,
    g.escrowChange,
    g.spent,
  ]),
)}
<h2>Totals</h2>
${table(
  ['measure', 'value'],
  [
    ['jobs', s.jobs],
    ['deals', s.deals],
    ['unmatched jobs', s.unmatched],
    ['unfunded jobs', s.unfunded],
    ...Object.entries(s.outcomes).map(([k, v]) => [`ended ${k}`, v] as [string, number]),
    ['wrong results', s.cheats],
    ['caught', s.cheatsCaught],
    ['wrong results accepted', s.wrongResultsAccepted],
    ['checks', s.checks],
    ['challenges', s.challenges],
    ['false challenges', s.falseChallenges],
    ['wrong verdicts', s.wrongVerdicts],
    ['providers broke', s.providersBroke],
    ['simulated time (s)', s.simulatedSeconds],
  ],
)}
<h2>Rounds</h2>
${table(
  ['round', 'jobs', 'deals', 'wrong results', 'adaptive deals', 'adaptive cheats', 'caught', 'end (s)'],
  result.rounds.map((r) => [
    r.round + 1,
    r.jobs,
    r.deals,
    r.cheats,
    r.adaptiveDeals,
    r.adaptiveCheats,
    r.outcomes.MediationRejected,
    r.endSeconds,
  ]),
)}
<footer>Reproduce with <code>${esc(input.command)}</code>. Money moves through <code>src/protocol/settlement.ts</code>, the reference model the contract tests check the contracts against.</footer>
`;
  return page(`Market simulation: ${result.scenario}`, body);
}

export function sweepReport(input: {
  sweep: SweepResult;
  description?: string;
  parameters: readonly ParameterRow[];
  charts: readonly Chart[];
  command: string;
}): string {
  const { sweep } = input;
  const [xAxis, yAxis] = sweep.axes;
  const findings: string[] = [];
  if (xAxis && !yAxis) {
    const xs = sweep.points.map((p) => p.params[xAxis.param] as number);
    const results = sweep.points.map((p) => p.result);
    const simulated = crossing(xs, results.map(plottedCheatingRate));
    const first = results[0];
    const analytic = first && xAxis.param === 'checkProbability' ? first.summary.theory.threshold : undefined;
    if (analytic !== undefined) {
      findings.push(
        `Analytic threshold p* = s / (r + f) = ${analytic}: a rational provider cheats below it and is honest above it.`,
      );
    }
    findings.push(
      simulated === undefined
        ? 'The simulated cheating rate never falls through 50 % over this range.'
        : `The simulated cheating rate falls through 50 % at ${paramLabel(xAxis.param)} ≈ ${Number(simulated.toPrecision(3))}${analytic !== undefined ? ` (analytic ${analytic}, difference ${Number(Math.abs(simulated - analytic).toPrecision(2))})` : ''}.`,
    );
  }
  findings.push(`${sweep.points.length} runs, seed ${sweep.seed} for every point (common random numbers).`);
  const paramHeaders = sweep.axes.map((a) => a.param);
  const body = `
<h1>Market simulation sweep: ${esc(sweep.scenario)}</h1>
<p class="lead">${input.description ? `${esc(input.description)} ` : ''}Varying ${sweep.axes.map((a) => `<code>${esc(a.param)}</code>`).join(' and ')}.</p>
<div class="findings"><ul>${findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul></div>
<h2>Charts</h2>
${figures(input.charts)}
<h2>Parameters (before the sweep)</h2>
${parameterTable(input.parameters)}
<h2>Runs</h2>
${table(
  [
    ...paramHeaders,
    'cheating rate',
    'theory: cheating pays',
    's − p(r+f) (LP)',
    'deals',
    'caught',
    'wrong accepted',
    'wrong verdicts',
  ],
  sweep.points.map((p) => [
    ...sweep.axes.map((a) => p.params[a.param] as number),
    pct(plottedCheatingRate(p.result)),
    p.result.summary.theory.cheatingPays ? 'yes' : 'no',
    Number(cheatingMargin(p.result).toPrecision(4)),
    p.result.summary.deals,
    p.result.summary.cheatsCaught,
    p.result.summary.wrongResultsAccepted,
    p.result.summary.wrongVerdicts,
  ]),
)}
<footer>Reproduce with <code>${esc(input.command)}</code>. Money moves through <code>src/protocol/settlement.ts</code>.</footer>
`;
  return page(`Market simulation sweep: ${sweep.scenario}`, body);
}
