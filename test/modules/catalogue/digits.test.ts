/**
 * digits:v0.1.0 in the WASM executor: held-out samples (a seed the training never saw) from the same
 * generator as the training data are classified in one job, with high accuracy;.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitSamples, TRAINING_SEED } from '../../../scripts/digits/samples.js';
import { type ModuleRunner, moduleRunner } from './run-module.js';

const REF = 'digits:v0.1.0';
const HELD_OUT_SEED = 20261202;

describe('digits', () => {
  let runner: ModuleRunner;
  beforeAll(async () => {
    runner = await moduleRunner();
  });
  afterAll(() => runner.remove());

  it('classifies held-out generated digits with high accuracy', async () => {
    expect(HELD_OUT_SEED).not.toBe(TRAINING_SEED);
    const samples = digitSamples(500, HELD_OUT_SEED);
    const run = await runner.run(REF, { Pixels: samples.map((s) => s.pixels).join(',') });
    expect(run.status).toBe('succeeded');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(500);
    const predicted = lines.map((line) => Number(line.split(' ')[0]));
    const correct = predicted.filter((digit, i) => digit === samples[i]?.digit).length;
    expect(correct / samples.length).toBeGreaterThan(0.95);
    // Every digit is recognised, not just the easy ones.
    for (let d = 0; d < 10; d++) {
      const ofDigit = samples.map((s, i) => [s.digit, predicted[i]]).filter(([digit]) => digit === d);
      expect(ofDigit.filter(([, p]) => p === d).length / ofDigit.length, `digit ${d}`).toBeGreaterThan(0.85);
    }
    const csv = (await run.output('predictions.csv')).toString().trimEnd().split('\n');
    expect(csv[0]).toBe('sample,digit,confidence');
    expect(csv[1]).toBe(`0,${lines[0]?.replace(' ', ',')}`);
  });

  it('is confident on clean digits and unsure on noise', async () => {
    const clean = digitSamples(10, 5, 0);
    const run = await runner.run(REF, { Pixels: clean.map((s) => s.pixels).join(',') });
    const lines = run.stdout.trimEnd().split('\n');
    lines.forEach((line, d) => {
      const [digit, confidence] = line.split(' ');
      expect(Number(digit)).toBe(d);
      expect(Number(confidence)).toBeGreaterThan(0.9);
    });
    const blank = await runner.run(REF, { Pixels: '0'.repeat(64) });
    expect(Number(blank.stdout.split(' ')[1])).toBeLessThan(0.9);
  });

  it('refuses a malformed bitmap before running', async () => {
    await expect(runner.run(REF, { Pixels: '12345' })).rejects.toThrow(/input "Pixels" does not match/);
  });
});
