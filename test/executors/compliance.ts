/**
 * The executor compliance suite: the same cases for every Executor (Hono's shared router tests, for
 * executors). To run it for an executor, write `test/executors/<kind>-compliance.test.ts`:
 *
 *     import { runExecutorCompliance } from './compliance.js';
 *
 *     runExecutorCompliance('docker', async () => {
 *       if (!(await dockerAvailable())) return { skip: 'no Docker daemon at /var/run/docker.sock' };
 *       return { executor: new DockerExecutor(), fixtures: await dockerFixtures(), wallTimeMs: 3_000 };
 *     });
 *
 * `setup` runs once, in a beforeAll; it returns either `{ skip: reason }` (every case is skipped and the
 * reason printed once) or the executor with its fixtures: one prepared module folder and manifest per
 * case, each doing exactly what its ComplianceFixtures doc says, in whatever way suits the executor
 * (the WASM fixtures are one AssemblyScript command, wasm-compliance.test.ts; a Docker fixture can be a
 * busybox command line). `teardown` runs in an afterAll. The suite calls only `executor.run` and reads
 * only the bundle and the trace, so nothing here knows which executor it tests.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionJob, ExecutionProgress, Executor } from '../../src/executors/executor.js';
import { readTrace, traceFileFor } from '../../src/executors/trace.js';
import { validateInputs } from '../../src/modules/inputs.js';
import type { ModuleManifest } from '../../src/modules/manifest.js';
import { folderCid } from '../../src/storage/unixfs.js';

/** A prepared module: its folder (manifest and artifacts) and its parsed manifest. */
export type ComplianceFixture = { moduleDir: string; manifest: ModuleManifest };

export type ComplianceFixtures = {
  /**
   * Takes input `Message` (string) both as one whole argument and as the environment variable
   * `MESSAGE`, and prints exactly `arg: <the argument>\nenv: <$MESSAGE>\n` to stdout; exits 0.
   */
  echo: ComplianceFixture;
  /** Takes input `Code` (integer, 0–255) and exits with it, printing nothing. */
  exit: ComplianceFixture;
  /** Takes input `Message` and prints `<Message>\n` to stderr, nothing to stdout; exits 0. */
  stderr: ComplianceFixture;
  /** Copies every regular file directly in /inputs into /outputs (same names and bytes); exits 0. */
  copyInputs: ComplianceFixture;
  /**
   * Tries to reach the network (any outside address); prints `network: unreachable\n` and exits 0 when
   * it cannot, `network: reachable\n` and exits 1 when it can.
   */
  network: ComplianceFixture;
  /** Never ends by itself (sleeps or spins), printing nothing. */
  sleep: ComplianceFixture;
  /** Allocates and touches memory without end (far past 64 MiB). */
  memoryBomb: ComplianceFixture;
  /** Writes to stdout without end. */
  flood: ComplianceFixture;
  /**
   * Takes input `Message`; prints something that depends on it (and may depend on the seed, the clock
   * or randomness, as the executor provides them), the same bytes for the same inputs and seed.
   */
  deterministic: ComplianceFixture;
};

export type ComplianceSetup =
  | {
      executor: Executor;
      fixtures: ComplianceFixtures;
      /** The wall-time limit of the `sleep` cases, ms; it must cover the executor's start-up. Default 500. */
      wallTimeMs?: number;
      teardown?: () => Promise<void>;
    }
  | { skip: string };

const MIB = 1024 * 1024;

export function runExecutorCompliance(name: string, setup: () => Promise<ComplianceSetup>): void {
  describe(`${name} executor compliance`, () => {
    let env: Exclude<ComplianceSetup, { skip: string }> | undefined;
    let skip: string | undefined;
    let work: string;
    let bundles = 0;

    beforeAll(async () => {
      const ready = await setup();
      if ('skip' in ready) {
        skip = ready.skip;
        console.log(`${name} executor compliance skipped: ${skip}`);
        return;
      }
      env = ready;
      work = await mkdtemp(join(tmpdir(), `lilypad-compliance-${name}-`));
    }, 120_000);

    afterAll(async () => {
      await env?.teardown?.();
      if (work) await rm(work, { recursive: true, force: true });
    });

    /** Runs a fixture with the given inputs; skips the case when the suite is skipped. */
    const ready = (ctx: { skip: (note?: string) => void }) => {
      if (!env) ctx.skip(skip);
      return env as NonNullable<typeof env>;
    };
    const job = (
      fixture: ComplianceFixture,
      inputs: Record<string, string>,
      more: Partial<ExecutionJob> = {},
    ) => ({
      moduleDir: fixture.moduleDir,
      manifest: fixture.manifest,
      inputs: validateInputs(fixture.manifest, inputs),
      seed: '0x5eed',
      bundleDir: join(work, 'bundles', String(bundles++)),
      ...more,
    });
    const read = (bundleDir: string, file: string) => readFile(join(bundleDir, file), 'utf8');

    it('writes the bundle: stdout, stderr, exitCode and outputs/, with the trace beside it', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const events: ExecutionProgress['type'][] = [];
      const result = await executor.run(job(fixtures.echo, { Message: 'hello' }), {
        onProgress: (event) => events.push(event.type),
      });
      expect(result.status).toBe('succeeded');
      expect(result.exitCode).toBe(0);
      expect((await readdir(result.bundleDir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout']);
      expect(await read(result.bundleDir, 'exitCode')).toBe('0\n');
      expect(await read(result.bundleDir, 'stdout')).toBe('arg: hello\nenv: hello\n');
      expect(await read(result.bundleDir, 'stderr')).toBe('');
      expect(await readdir(join(result.bundleDir, 'outputs'))).toEqual([]);
      expect(events).toEqual(['execution:started', 'execution:finished']);

      expect(result.traceFile).toBe(traceFileFor(result.bundleDir));
      const trace = await readTrace(result.traceFile);
      expect(trace.wallTimeMs).toBe(result.trace.wallTimeMs);
      expect(trace.memoryPeakBytes).toBe(result.trace.memoryPeakBytes);
      expect(trace.instructionCount).toBe(result.trace.instructionCount);
      expect(trace.samplePeriodMs).toBeGreaterThan(0);
    });

    it('passes inputs as whole arguments and environment values, never as shell text', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const message = `two  words; $(echo injected) "quoted" 'single' \\ é ✓`;
      const result = await executor.run(job(fixtures.echo, { Message: message }));
      expect(await read(result.bundleDir, 'stdout')).toBe(`arg: ${message}\nenv: ${message}\n`);
    });

    it('captures the exit code', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const failed = await executor.run(job(fixtures.exit, { Code: '3' }));
      expect(failed.status).toBe('failed');
      expect(failed.exitCode).toBe(3);
      expect(await read(failed.bundleDir, 'exitCode')).toBe('3\n');
      const succeeded = await executor.run(job(fixtures.exit, { Code: '0' }));
      expect(succeeded.status).toBe('succeeded');
      expect(succeeded.exitCode).toBe(0);
    });

    it('captures stderr apart from stdout', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const result = await executor.run(job(fixtures.stderr, { Message: 'to stderr' }));
      expect(result.status).toBe('succeeded');
      expect(await read(result.bundleDir, 'stderr')).toBe('to stderr\n');
      expect(await read(result.bundleDir, 'stdout')).toBe('');
    });

    it('mounts the inputs read-only at /inputs and collects /outputs', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const inputsDir = join(work, 'inputs');
      await mkdir(inputsDir, { recursive: true });
      const files = { 'a.txt': 'first file\n', 'b.bin': Buffer.from([0, 1, 2, 255]).toString('latin1') };
      for (const [file, content] of Object.entries(files))
        await writeFile(join(inputsDir, file), content, 'latin1');
      const result = await executor.run(job(fixtures.copyInputs, {}, { inputsDir }));
      expect(result.status, result.message).toBe('succeeded');
      const outputs = join(result.bundleDir, 'outputs');
      expect((await readdir(outputs)).sort()).toEqual(Object.keys(files));
      for (const [file, content] of Object.entries(files)) {
        expect(await readFile(join(outputs, file), 'latin1')).toBe(content);
      }
      expect((await readdir(inputsDir)).sort()).toEqual(Object.keys(files));
    });

    it('has no network', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const result = await executor.run(job(fixtures.network, {}));
      expect(await read(result.bundleDir, 'stdout')).toBe('network: unreachable\n');
      expect(result.exitCode).toBe(0);
    });

    it('stops a job at its wall-time limit and records the trace', async (ctx) => {
      const { executor, fixtures, wallTimeMs = 500 } = ready(ctx);
      const started = performance.now();
      const result = await executor.run(job(fixtures.sleep, {}, { limits: { wallTimeMs } }));
      const elapsed = performance.now() - started;
      expect(result.status).toBe('timed-out');
      expect(result.exitCode).toBe(124);
      expect(await read(result.bundleDir, 'exitCode')).toBe('124\n');
      expect(elapsed).toBeGreaterThanOrEqual(wallTimeMs - 10);
      expect(elapsed).toBeLessThan(wallTimeMs + 5_000);
      const trace = await readTrace(result.traceFile);
      expect(trace.samples.length).toBeGreaterThanOrEqual(2);
      for (const sample of trace.samples) {
        expect(sample.tMs % trace.samplePeriodMs).toBe(0);
        expect(sample.memoryBytes).toBeGreaterThanOrEqual(0);
      }
    });

    it('cancels a job on abort', async (ctx) => {
      const { executor, fixtures, wallTimeMs = 500 } = ready(ctx);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), wallTimeMs / 2);
      const result = await executor.run(job(fixtures.sleep, {}, { limits: { wallTimeMs: 60_000 } }), {
        signal: controller.signal,
      });
      expect(result.status).toBe('cancelled');
      expect(result.exitCode).toBe(130);
    });

    it('stops a job at its memory limit', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const result = await executor.run(job(fixtures.memoryBomb, {}, { limits: { memoryBytes: 64 * MIB } }));
      expect(result.status).toBe('out-of-memory');
      expect(result.exitCode).toBe(137);
      expect(result.trace.memoryPeakBytes).toBeLessThanOrEqual(64 * MIB);
    });

    it('cuts the output at the output limit', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const result = await executor.run(job(fixtures.flood, {}, { limits: { outputBytes: 100_000 } }));
      expect(result.status).toBe('output-limit');
      expect(result.exitCode).toBe(153);
      const sizes = await Promise.all(['stdout', 'stderr'].map((f) => stat(join(result.bundleDir, f))));
      expect(sizes[0]?.size).toBeGreaterThan(0);
      expect((sizes[0]?.size ?? 0) + (sizes[1]?.size ?? 0)).toBeLessThanOrEqual(100_000);
    });

    it('keeps serving after hostile jobs', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const result = await executor.run(job(fixtures.echo, { Message: 'still here' }));
      expect(result.status).toBe('succeeded');
      expect(await read(result.bundleDir, 'stdout')).toBe('arg: still here\nenv: still here\n');
    });

    it('gives the same result CID for the same deterministic job twice', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const a = await executor.run(job(fixtures.deterministic, { Message: 'same' }));
      const b = await executor.run(job(fixtures.deterministic, { Message: 'same' }));
      expect(a.status).toBe('succeeded');
      expect(await read(a.bundleDir, 'stdout')).toMatch(/same/);
      expect((await folderCid(b.bundleDir)).toString()).toBe((await folderCid(a.bundleDir)).toString());
    });

    it('refuses a bundle folder that is not empty', async (ctx) => {
      const { executor, fixtures } = ready(ctx);
      const stale = job(fixtures.echo, { Message: 'x' });
      await mkdir(stale.bundleDir, { recursive: true });
      await writeFile(join(stale.bundleDir, 'stale'), 'x');
      await expect(executor.run(stale)).rejects.toThrow(/not empty/);
    });
  });
}
