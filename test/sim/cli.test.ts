/** `lilypad sim` through the real command (bin/lilypad.js → dist/), as a person would use it. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../e2e/cli.js';
import { rawScenario } from './scenarios.js';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-sim-cli-'));
  file = join(dir, 'small.yaml');
  await writeFile(file, stringify(rawScenario({ name: 'small', rounds: 2, jobsPerRound: 50 })));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readAll = async (folder: string) =>
  Object.fromEntries(
    await Promise.all(
      (await readdir(folder)).sort().map(async (f) => [f, await readFile(join(folder, f), 'utf8')]),
    ),
  );

describe('lilypad sim', () => {
  it('runs a scenario, writes its report, and writes the same bytes again', async () => {
    const out = join(dir, 'run');
    const first = await runCli(['sim', 'run', file, '--out', out], {});
    expect(first.stderr).toContain('rounds [');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('small: 100 jobs, 100 deals');
    expect(first.stdout).toContain(`report: ${join(out, 'report.html')}`);
    const files = await readAll(out);
    expect(Object.keys(files)).toContain('report.html');
    expect(Object.keys(files)).toContain('run.json');
    const second = await runCli(['sim', 'run', file, '--out', out], {});
    expect(second.code).toBe(0);
    expect(await readAll(out)).toEqual(files);
  });

  it('sweeps a parameter with a progress bar on stderr and JSON lines on stdout', async () => {
    const result = await runCli(
      ['sim', 'sweep', file, '--vary', 'checkProbability=0,0.5', '--out', join(dir, 'sweep'), '--json'],
      {},
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('sweep [');
    expect(result.stderr).toContain('2/2');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.params.checkProbability)).toEqual([0, 0.5]);
    expect(await readdir(join(dir, 'sweep'))).toContain('cheating-rate.svg');
  });

  it('refuses a bad scenario, naming the field, and a sweep with nothing to vary', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, stringify({ ...rawScenario(), rounds: 0, collateral: { resultsMultipel: 2 } }));
    const result = await runCli(['sim', 'run', bad], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is not a valid scenario');
    expect(result.stderr).toContain('rounds: ');
    expect(result.stderr).toContain('collateral.resultsMultipel: not a scenario field');
    const nothing = await runCli(['sim', 'sweep', file], {});
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('nothing to sweep');
  });

  it('teaches in --help: the fields, the strategies, the theory, examples', async () => {
    const help = await runCli(['sim', 'run', '--help'], {});
    expect(help.stdout).toContain('population:');
    expect(help.stdout).toContain('adaptive (epsilon, learning: shared|own)');
    expect(help.stdout).toContain('p* = s / (r + f)');
    const top = await runCli(['sim', '--help'], {});
    expect(top.stdout).toContain('lilypad sim sweep examples/sim/deterrence.yaml');
  });
});
