/**
 * Evidence of work: what a run used, measured while it ran. Every executor writes one trace per run to
 * `traceFileFor(bundleDir)`, beside the result bundle and never inside it (the bundle's CID must depend
 * only on the job's output). Mediators compare traces with `traceSimilarity` for modules that are not
 * bit-for-bit deterministic; for metered WASM the instruction count alone is exact.
 *
 * trace.json: `{ instructionCount, memoryPeakBytes, wallTimeMs, samplePeriodMs, samples: [{ tMs, cpu?,
 * memoryBytes }] }`, with `instructionCount` a decimal string (it may pass 2^53) or absent.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { LilypadError } from '../protocol/errors.js';

/** The sampling period of both executors, unless one says otherwise in its traces. */
export const TRACE_SAMPLE_PERIOD_MS = 100;

/** One measurement of a running job, taken at `tMs = k × samplePeriodMs` after it started. */
export type TraceSample = {
  /** Milliseconds since the job started: a multiple of the trace's sample period. */
  tMs: number;
  /** CPU time used since the job started, in milliseconds, all cores together; where measurable. */
  cpu?: number;
  /** Memory in use, bytes. */
  memoryBytes: number;
};

export type ExecutionTrace = {
  /** Instructions executed (metered WASM); absent where the executor cannot count them. */
  instructionCount?: bigint;
  memoryPeakBytes: number;
  wallTimeMs: number;
  samplePeriodMs: number;
  samples: TraceSample[];
};

/** `<bundleDir>.trace.json`: beside the bundle folder, named after it. */
export function traceFileFor(bundleDir: string): string {
  return `${bundleDir.replace(/[/\\]+$/, '')}.trace.json`;
}

export function serializeTrace(trace: ExecutionTrace): string {
  const { instructionCount, ...rest } = trace;
  const json =
    instructionCount === undefined ? rest : { instructionCount: String(instructionCount), ...rest };
  return `${JSON.stringify(json, null, 2)}\n`;
}

export function parseTrace(text: string): ExecutionTrace {
  const json = JSON.parse(text) as Omit<ExecutionTrace, 'instructionCount'> & { instructionCount?: string };
  const numbers = [json.memoryPeakBytes, json.wallTimeMs, json.samplePeriodMs];
  if (!numbers.every((n) => typeof n === 'number' && n >= 0) || !Array.isArray(json.samples)) {
    throw new LilypadError('not an execution trace: memoryPeakBytes, wallTimeMs, samplePeriodMs or samples');
  }
  const { instructionCount, ...rest } = json;
  return instructionCount === undefined ? rest : { instructionCount: BigInt(instructionCount), ...rest };
}

export async function writeTrace(bundleDir: string, trace: ExecutionTrace): Promise<string> {
  const file = traceFileFor(bundleDir);
  await writeFile(file, serializeTrace(trace));
  return file;
}

export async function readTrace(file: string): Promise<ExecutionTrace> {
  return parseTrace(await readFile(file, 'utf8'));
}

/**
 * Samples at a fixed period from the start: `read` is called at t = 0, P, 2P, … (a late timer does not
 * shift the grid; a missed tick is skipped) until `stop()`, which returns the samples in order. `read`
 * may be async (a stats API); a sample that resolves after `stop()` is dropped.
 */
export function startSampling(
  read: () => Omit<TraceSample, 'tMs'> | undefined | Promise<Omit<TraceSample, 'tMs'> | undefined>,
  periodMs: number = TRACE_SAMPLE_PERIOD_MS,
): { stop(): TraceSample[] } {
  const started = performance.now();
  const samples: TraceSample[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const take = async (tMs: number) => {
    try {
      const value = await read();
      if (value && !stopped) samples.push({ tMs, ...value });
    } catch {
      // a failed measurement is a gap, not a failed job
    }
  };
  const tick = (k: number) => {
    if (stopped) return;
    void take(k * periodMs);
    const next = Math.max(k + 1, Math.ceil((performance.now() - started) / periodMs));
    timer = setTimeout(() => tick(next), Math.max(0, started + next * periodMs - performance.now()));
    timer.unref();
  };
  tick(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      return samples.sort((a, b) => a.tMs - b.tMs);
    },
  };
}

/** min/max of two non-negative numbers, 1 when both are 0; `floor` is added to both first. */
function ratio(a: number, b: number, floor = 0): number {
  const [x, y] = [Math.max(0, a) + floor, Math.max(0, b) + floor];
  if (x === y) return 1;
  return Math.min(x, y) / Math.max(x, y);
}

/** The last sample at or before `t` (the first when none is), as a step function of time. */
function valueAt(samples: TraceSample[], t: number, pick: (s: TraceSample) => number | undefined) {
  let value = samples[0] === undefined ? undefined : pick(samples[0]);
  for (const sample of samples) {
    if (sample.tMs > t) break;
    value = pick(sample);
  }
  return value;
}

/** Mean point-by-point ratio of two series on a common grid; undefined when either has no values. */
function curveSimilarity(
  a: ExecutionTrace,
  b: ExecutionTrace,
  pick: (s: TraceSample) => number | undefined,
): number | undefined {
  if (a.samples.length === 0 || b.samples.length === 0) return undefined;
  if (!a.samples.every((s) => pick(s) !== undefined) || !b.samples.every((s) => pick(s) !== undefined))
    return undefined;
  const period = Math.max(a.samplePeriodMs, b.samplePeriodMs, 1);
  const span = Math.min(a.wallTimeMs, b.wallTimeMs);
  let sum = 0;
  let points = 0;
  for (let t = 0; points === 0 || t <= span; t += period) {
    sum += ratio(valueAt(a.samples, t, pick) as number, valueAt(b.samples, t, pick) as number);
    points++;
  }
  return sum / points;
}

/**
 * How alike two runs were, in [0, 1]: 1 for identical traces, symmetric in its arguments.
 *
 * With r(x, y) = min(x, y) / max(x, y) (1 when equal), the score is the weighted mean of the parts
 * both traces have:
 *   - instructions, weight 4: r(instructionCount) — exact for metered WASM, so it dominates;
 *   - memory peak, weight 2: r(memoryPeakBytes);
 *   - wall time, weight 1: r(wallTimeMs + P, …) with P the larger sample period, so that runs shorter
 *     than one period, which sampling cannot tell apart, are not punished for jitter;
 *   - memory curve, weight 1: the mean of r(memory) at t = 0, P, 2P, … up to the shorter run's end,
 *     each trace read as a step function of its samples;
 *   - CPU curve, weight 1: the same over cumulative CPU time, when both traces have it.
 */
export function traceSimilarity(a: ExecutionTrace, b: ExecutionTrace): number {
  const parts: [score: number, weight: number][] = [];
  if (a.instructionCount !== undefined && b.instructionCount !== undefined) {
    const [x, y] = [a.instructionCount, b.instructionCount];
    const score = x === y ? 1 : Number(x < y ? x : y) / Number(x < y ? y : x);
    parts.push([score, 4]);
  }
  parts.push([ratio(a.memoryPeakBytes, b.memoryPeakBytes), 2]);
  const period = Math.max(a.samplePeriodMs, b.samplePeriodMs, 1);
  parts.push([ratio(a.wallTimeMs, b.wallTimeMs, period), 1]);
  const memory = curveSimilarity(a, b, (s) => s.memoryBytes);
  if (memory !== undefined) parts.push([memory, 1]);
  const cpu = curveSimilarity(a, b, (s) => s.cpu);
  if (cpu !== undefined) parts.push([cpu, 1]);
  const weights = parts.reduce((sum, [, w]) => sum + w, 0);
  const score = parts.reduce((sum, [s, w]) => sum + s * w, 0) / weights;
  return Math.min(1, Math.max(0, score));
}
