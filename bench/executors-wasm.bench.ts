/**
 * The WASM executor: what instruction metering costs, and what the executor adds around a job.
 *
 * - `wasm_metering_overhead_ratio`: a compute-heavy module (SHA-256 over 1 MiB, many rounds, in
 *   AssemblyScript) run metered and unmetered, alternately; median metered time / median unmetered.
 *   Target ≤ 2.0. `…_tight_loop` is the same for FNV-1a, a ~10-instruction loop, metering's worst case.
 * - `wasm_job_overhead_ms`: median time of `executor.run` for a module that does nothing (a warm job
 *   thread, a compiled module): bundle folder, limits, instance, capture, trace. Target ≤ 20 ms.
 *   `wasm_job_cold_start_ms` is the first job on a new thread pool.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionJob } from '../src/executors/executor.js';
import { WasmExecutor } from '../src/executors/wasm/wasm-executor.js';
import { WorkerPool } from '../src/executors/wasm/worker-pool.js';
import { compileAssemblyScriptFile } from '../test/executors/assemblyscript.js';
import { assemble, start } from '../test/executors/wasm-assembler.js';
import { manifestFor } from '../test/executors/wasm-jobs.js';

export const name = 'executors-wasm';
const RATIO_RUNS = 7;
const OVERHEAD_RUNS = 50;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
};

export async function run(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-wasm-'));
  let bundles = 0;
  const moduleDir = async (folder: string, wasm: Uint8Array) => {
    const path = join(dir, folder);
    await mkdir(path);
    await writeFile(join(path, 'test.wasm'), wasm);
    return path;
  };
  const job = (module: string, args: string[] = []): ExecutionJob => ({
    moduleDir: module,
    manifest: manifestFor({ entry: { wasm: 'test.wasm', args }, memoryPages: 64, timeoutSeconds: 120 }),
    inputs: {},
    seed: '0x00',
    bundleDir: join(dir, 'bundles', String(bundles++)),
  });
  const timed = async (executor: WasmExecutor, j: ExecutionJob) => {
    const started = performance.now();
    const result = await executor.run(j);
    if (result.status !== 'succeeded') throw new Error(`bench job ${result.status}: ${result.message}`);
    return { ms: performance.now() - started, instructions: result.instructionCount };
  };

  try {
    const compute = await moduleDir('compute', await compileAssemblyScriptFile('compute.as'));
    const metered = new WasmExecutor();
    const plain = new WasmExecutor({ metering: false });
    const ratio = async (args: string[]) => {
      await timed(metered, job(compute, args)); // compile and warm both
      await timed(plain, job(compute, args));
      const times = { metered: [] as number[], plain: [] as number[] };
      let instructions = 0n;
      for (let i = 0; i < RATIO_RUNS; i++) {
        const m = await timed(metered, job(compute, args));
        instructions = m.instructions;
        times.metered.push(m.ms);
        times.plain.push((await timed(plain, job(compute, args))).ms);
      }
      return { ratio: median(times.metered) / median(times.plain), ms: median(times.metered), instructions };
    };
    const sha = await ratio(['sha256', '30']);
    const fnv = await ratio(['fnv', '200']);

    const trivial = await moduleDir(
      'trivial',
      assemble({ memory: { min: 1 }, funcs: [{ type: start, export: '_start', body: [] }] }),
    );
    const cold = new WasmExecutor({ pool: new WorkerPool() });
    const coldStart = (await timed(cold, job(trivial))).ms;
    for (let i = 0; i < 5; i++) await timed(metered, job(trivial));
    const overhead: number[] = [];
    for (let i = 0; i < OVERHEAD_RUNS; i++) overhead.push((await timed(metered, job(trivial))).ms);

    return {
      wasm_metering_overhead_ratio: Math.round(sha.ratio * 100) / 100,
      wasm_metering_overhead_ratio_tight_loop: Math.round(fnv.ratio * 100) / 100,
      wasm_metered_minstr_per_s: Math.round(Number(sha.instructions) / 1000 / sha.ms),
      wasm_job_overhead_ms: Math.round(median(overhead) * 10) / 10,
      wasm_job_cold_start_ms: Math.round(coldStart),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
