/**
 * TEST DOUBLE: a real executor wrapped so that the party using it misbehaves in a chosen way. A resource
 * provider with it cheats (or never submits, or produces output that differs from run to run); a mediator
 * with it is dishonest (its re-run never matches). The job itself always runs for real.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionJob, ExecutionResult, Executor, RunOptions } from '../../src/executors/executor.js';
import { parseTrace, serializeTrace, writeTrace } from '../../src/executors/trace.js';

export type Misbehaviour =
  /** Runs the job as it is. */
  | 'honest'
  /** Returns a wrong result: the real stdout with a line of its own added. */
  | 'wrong-stdout'
  /** Crashes on every job: its provider never submits a result. */
  | 'crash'
  /** Output that differs on every run (like a module that reads a clock), with the real trace. */
  | 'noisy-stdout'
  /** Does a tenth of the work and claims a trace: the real output with a made-up evidence of work. */
  | 'fabricated-trace';

let runs = 0;

export class MisbehavingExecutor implements Executor {
  readonly kind: Executor['kind'];
  behaviour: Misbehaviour;
  readonly #inner: Executor;

  constructor(inner: Executor, behaviour: Misbehaviour = 'honest') {
    this.#inner = inner;
    this.kind = inner.kind;
    this.behaviour = behaviour;
  }

  warmUp(): Promise<void> {
    return this.#inner.warmUp?.() ?? Promise.resolve();
  }

  async run(job: ExecutionJob, options?: RunOptions): Promise<ExecutionResult> {
    if (this.behaviour === 'crash') throw new Error('test double: this executor crashes on every job');
    const result = await this.#inner.run(job, options);
    const stdout = join(result.bundleDir, 'stdout');
    if (this.behaviour === 'wrong-stdout') await appendFile(stdout, 'not what the module printed\n');
    if (this.behaviour === 'noisy-stdout') await appendFile(stdout, `run ${++runs} at ${Date.now()}\n`);
    if (this.behaviour === 'fabricated-trace') {
      const real = parseTrace(await readFile(result.traceFile, 'utf8'));
      const forged = {
        ...real,
        instructionCount: (real.instructionCount ?? 1_000_000n) / 10n,
        memoryPeakBytes: Math.round(real.memoryPeakBytes / 8),
        samples: real.samples.map((s) => ({ ...s, memoryBytes: Math.round(s.memoryBytes / 8) })),
      };
      await writeTrace(result.bundleDir, forged);
      return { ...result, trace: parseTrace(serializeTrace(forged)) };
    }
    return result;
  }
}
