/** The job creator's check names, and the judgement of a result that carries no evidence of work. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/executors/executor.js';
import { judgeResult, type ReExecution } from '../../src/executors/re-execution.js';
import { checkName, parseCheck } from '../../src/job-creator/check.js';
import { resolveModule } from '../../src/modules/resolve.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

it('parses accept, local and p=X, and says what to type otherwise', () => {
  expect(parseCheck('accept')).toEqual({ kind: 'accept' });
  expect(parseCheck('local')).toEqual({ kind: 'local' });
  expect(parseCheck('p=0.1')).toEqual({ kind: 'probability', p: 0.1 });
  expect(parseCheck('p=1')).toEqual({ kind: 'probability', p: 1 });
  expect(checkName(parseCheck('p=.25'))).toBe('p=0.25');
  for (const bad of ['p=1.5', 'p=', 'p=-0.1', 'remote', '']) {
    expect(() => parseCheck(bad)).toThrow(/is not a check/);
  }
});

const trace = {
  instructionCount: 1000n,
  memoryPeakBytes: 65536,
  wallTimeMs: 5,
  samplePeriodMs: 100,
  samples: [],
};
const ours = (exitCode = 0): ReExecution => ({
  cid: 'bafyours',
  wallTimeMs: 5,
  result: { exitCode, trace } as unknown as ExecutionResult,
});

it('judges a deterministic result by its CID', async () => {
  const { manifest } = await resolveModule('cowsay:v0.0.1');
  expect(await judgeResult({ manifest, claimedCID: 'bafyours', ours: ours() })).toMatchObject({
    resultCorrect: true,
  });
  expect(await judgeResult({ manifest, claimedCID: 'bafytheirs', ours: ours() })).toMatchObject({
    resultCorrect: false,
  });
});

it('rejects a not deterministic result without evidence, or with another exit code', async () => {
  const manifest = { ...(await resolveModule('cowsay:v0.0.1')).manifest, deterministic: false };
  const claimedDir = await mkdtemp(join(tmpdir(), 'lilypad-claimed-'));
  dirs.push(claimedDir);
  await mkdir(join(claimedDir, 'outputs'));
  await writeFile(join(claimedDir, 'exitCode'), '0\n');
  const judge = () => judgeResult({ manifest, claimedCID: 'bafytheirs', claimedDir, ours: ours() });
  expect(await judge()).toMatchObject({
    resultCorrect: false,
    reason: expect.stringMatching(/no readable trace.json/),
  });
  await writeFile(
    join(claimedDir, 'trace.json'),
    JSON.stringify({ ...trace, instructionCount: String(trace.instructionCount) }),
  );
  expect(await judge()).toMatchObject({ resultCorrect: true, similarity: 1 });
  await writeFile(join(claimedDir, 'exitCode'), '1\n');
  expect(await judge()).toMatchObject({
    resultCorrect: false,
    reason: expect.stringMatching(/exited with 1/),
  });
});
