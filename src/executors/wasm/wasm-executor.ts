/**
 * The WASM executor: runs a WASI preview1 module on a warm job thread (worker-pool.ts), deterministically
 * (wasi.ts, wasi-files.ts), metered (metering.ts: an exact instruction count, an instruction budget and
 * a call-stack limit, the same on every machine), within a memory limit (the module's memory maximum is
 * rewritten before compiling), an output limit, a file-bytes limit and a wall-clock limit (the thread
 * is terminated). `/inputs` is the job's input folder, read-only; `/outputs` is the bundle's outputs/.
 *
 * Modules are instrumented and compiled once per process, cached by file hash, memory limit and
 * metering, so a job pays only for an instance and its own run.
 *
 * The trace's samples read the module's memory as the job thread last published it: at start, at every
 * WASI call and at the end (a thread busy in WebAssembly cannot be asked). CPU is not sampled: the job
 * thread is busy for the whole run, and the instruction count is the exact measure of its work.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { EntryArgument, WasmModuleManifest } from '../../modules/manifest.js';
import { LilypadError } from '../../protocol/errors.js';
import type { ExecutionJob, ExecutionResult, Executor, RunOptions } from '../executor.js';
import { type ExecutionTrace, startSampling, TRACE_SAMPLE_PERIOD_MS, writeTrace } from '../trace.js';
import { limitMemory, limitTables, MemoryLimitError, TableLimitError, WASM_PAGE_BYTES } from './binary.js';
import { meterModule, UNLIMITED_INSTRUCTIONS } from './metering.js';
import { WASI_FUNCTIONS } from './wasi.js';
import type { Preopen } from './wasi-files.js';
import type { WasmApi, WasmModule } from './wasm-api.js';
import { jobSharedMemory, type PoolOutcome, WorkerPool } from './worker-pool.js';

/** What clocks read inside a module: 2000-01-01T00:00:00Z, in nanoseconds. */
export const FIXED_TIME_NS = 946_684_800_000_000_000n;
export const DEFAULT_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_PAGES = 65_536;
const MIB = 1024 * 1024;
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type WasmExecutorOptions = {
  /** Output limit (stdout + stderr) when the job sets none. */
  outputBytes?: number;
  /**
   * Count instructions (default true). Off, the module runs as written: no instruction count, no
   * budget, no deterministic stack limit. For comparisons (the metering benchmark), not for deals.
   */
  metering?: boolean;
  /** The job threads; by default one pool shared by every WasmExecutor of the process. */
  pool?: WorkerPool;
};

type Prepared = { module: WasmModule; memoryMaxBytes: number };

const hashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();
const compiled = new Map<string, Promise<Prepared>>();
const COMPILED_CACHE_SIZE = 32;
const sharedPool = new WorkerPool();

/** Job threads of the shared pool running a job or not yet reclaimed after one (for tests). */
export function activeWasmWorkers(): number {
  return sharedPool.busy;
}

async function fileHash(path: string): Promise<{ hash: string; bytes?: Uint8Array }> {
  const info = await stat(path);
  const known = hashes.get(path);
  if (known && known.mtimeMs === info.mtimeMs && known.size === info.size) return { hash: known.hash };
  const bytes = await readFile(path);
  const hash = createHash('sha256').update(bytes).digest('hex');
  hashes.set(path, { mtimeMs: info.mtimeMs, size: info.size, hash });
  return { hash, bytes };
}

function checkInterface(module: WasmModule, name: string): void {
  const refused = WebAssembly.Module.imports(module).filter(
    (entry) =>
      entry.module !== 'wasi_snapshot_preview1' ||
      entry.kind !== 'function' ||
      !WASI_FUNCTIONS.has(entry.name),
  );
  if (refused.length > 0) {
    const list = refused.map((entry) => `${entry.module}.${entry.name} (${entry.kind})`).join(', ');
    throw new LilypadError(`module ${name} imports ${list}: refused`, {
      details: 'the WASM executor provides only wasi_snapshot_preview1 functions',
    });
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((entry) => entry.name === '_start' && entry.kind === 'function')) {
    throw new LilypadError(`module ${name} does not export a _start function (a WASI command)`);
  }
  if (!exports.some((entry) => entry.name === 'memory' && entry.kind === 'memory')) {
    throw new LilypadError(`module ${name} does not export its memory`);
  }
}

/** Instruments (or not), compiles and checks the module at `path` with its memory capped at `limitPages`. */
async function prepare(path: string, limitPages: number, name: string, metered: boolean): Promise<Prepared> {
  const { hash, bytes } = await fileHash(path);
  const key = `${hash}:${limitPages}:${metered ? 'metered' : 'plain'}`;
  let entry = compiled.get(key);
  if (!entry) {
    entry = (async () => {
      const source = bytes ?? (await readFile(path));
      const limited = limitMemory(source, limitPages);
      const capped = limitTables(limited.bytes);
      const runnable = metered ? meterModule(capped).bytes : capped;
      let module: WasmModule;
      try {
        module = await WebAssembly.compile(runnable);
      } catch (error) {
        throw new LilypadError(`module ${name}: ${path} does not compile: ${(error as Error).message}`, {
          cause: error,
        });
      }
      checkInterface(module, name);
      const maxPages = limited.memories[0]?.maxPages ?? 0n;
      return { module, memoryMaxBytes: Number(maxPages) * WASM_PAGE_BYTES };
    })();
    compiled.set(key, entry);
    entry.catch(() => compiled.delete(key));
    if (compiled.size > COMPILED_CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  }
  return entry;
}

function seedBytes(seed: string): Uint8Array {
  const hex = seed.startsWith('0x') || seed.startsWith('0X') ? seed.slice(2) : seed;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new LilypadError(`the job seed must be hex, got ${seed}`);
  return Buffer.from(hex, 'hex');
}

function argumentValue(arg: EntryArgument, inputs: Record<string, string>, where: string): string {
  if (typeof arg === 'string') return arg;
  const value = inputs[arg.input];
  if (value === undefined) throw new LilypadError(`${where} needs input "${arg.input}", which has no value`);
  return value;
}

/** argv[0] is the module name, then the manifest's arguments with inputs as whole elements. */
export function moduleArgs(manifest: WasmModuleManifest, inputs: Record<string, string>): string[] {
  return [
    manifest.name,
    ...manifest.entry.args.map((arg, i) => argumentValue(arg, inputs, `entry.args[${i}]`)),
  ];
}

/** The environment, keys inserted in sorted order (WASI passes them in insertion order). */
export function moduleEnv(
  manifest: WasmModuleManifest,
  inputs: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  const entries = Object.entries(manifest.entry.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, arg] of entries) env[key] = argumentValue(arg, inputs, `entry.env.${key}`);
  return env;
}

/** The memory limit in pages: the manifest's (memoryPages, else spec.ram), lowered by the job's. */
export function memoryLimitPages(manifest: WasmModuleManifest, memoryBytes?: number): number {
  const fromManifest =
    manifest.memoryPages ?? Math.floor((manifest.spec.ram * 1024 * 1024) / WASM_PAGE_BYTES);
  let pages = Math.min(Math.max(1, fromManifest), MAX_PAGES);
  if (memoryBytes !== undefined) pages = Math.min(pages, Math.floor(memoryBytes / WASM_PAGE_BYTES));
  return Math.max(0, pages);
}

async function createBundle(bundleDir: string): Promise<void> {
  await mkdir(bundleDir, { recursive: true });
  if ((await readdir(bundleDir)).length > 0) {
    throw new LilypadError(`the result bundle folder ${bundleDir} is not empty`);
  }
  await mkdir(join(bundleDir, 'outputs'));
}

async function inputsFolder(inputsDir: string | undefined): Promise<string | undefined> {
  if (inputsDir === undefined) return undefined;
  const path = await realpath(inputsDir).catch((error: unknown) => {
    throw new LilypadError(`the job's inputs folder ${inputsDir} cannot be read`, { cause: error });
  });
  if (!(await stat(path)).isDirectory())
    throw new LilypadError(`the job's inputs ${inputsDir} is not a folder`);
  return path;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export class WasmExecutor implements Executor {
  readonly kind = 'wasm' as const;
  readonly #outputBytes: number;
  readonly #metering: boolean;
  readonly #pool: WorkerPool;

  constructor(options: WasmExecutorOptions = {}) {
    this.#outputBytes = options.outputBytes ?? DEFAULT_OUTPUT_BYTES;
    this.#metering = options.metering ?? true;
    this.#pool = options.pool ?? sharedPool;
  }

  /** Starts a job thread ahead of the first job. */
  warmUp(): Promise<void> {
    return this.#pool.warmUp();
  }

  async run(job: ExecutionJob, options: RunOptions = {}): Promise<ExecutionResult> {
    const { manifest } = job;
    if (manifest.executor !== 'wasm') {
      throw new LilypadError(`module ${manifest.name} is for the ${manifest.executor} executor, not wasm`);
    }
    const moduleDir = resolve(job.moduleDir);
    const wasmPath = resolve(moduleDir, manifest.entry.wasm);
    if (relative(moduleDir, wasmPath).split(sep)[0] === '..') {
      throw new LilypadError(`entry.wasm ${manifest.entry.wasm} is outside the module folder`);
    }
    if (job.limits?.instructions !== undefined && !this.#metering) {
      throw new LilypadError('an instruction budget needs metering, which this executor has turned off');
    }
    const seed = seedBytes(job.seed);
    const args = moduleArgs(manifest, job.inputs);
    const env = moduleEnv(manifest, job.inputs);
    const limitPages = memoryLimitPages(manifest, job.limits?.memoryBytes);
    const inputs = await inputsFolder(job.inputsDir);

    let prepared: Prepared | undefined;
    let refused: PoolOutcome | undefined;
    try {
      prepared = await prepare(wasmPath, limitPages, manifest.name, this.#metering);
    } catch (error) {
      if (!(error instanceof MemoryLimitError || error instanceof TableLimitError)) throw error;
      // Deterministic: the module cannot start within its limit anywhere.
      refused = { status: 'out-of-memory', exitCode: 137, memoryPeakBytes: 0, message: error.message };
    }

    await createBundle(job.bundleDir);
    const started = performance.now();
    let outcome: PoolOutcome;
    let samples: ExecutionTrace['samples'] = [];
    if (refused) outcome = refused;
    else if (options.signal?.aborted) outcome = { status: 'cancelled', exitCode: 130, message: 'cancelled' };
    else {
      const wasmJob = { ...job, manifest };
      const ran = await this.#runJob(prepared as Prepared, wasmJob, { args, env, seed, inputs }, options);
      outcome = ran.outcome;
      samples = ran.samples;
    }
    const wallTimeMs = Math.round(performance.now() - started);

    await writeFile(join(job.bundleDir, 'exitCode'), `${outcome.exitCode}\n`);
    const trace: ExecutionTrace = {
      ...(outcome.instructionCount === undefined ? {} : { instructionCount: outcome.instructionCount }),
      memoryPeakBytes: outcome.memoryPeakBytes ?? 0,
      wallTimeMs,
      samplePeriodMs: TRACE_SAMPLE_PERIOD_MS,
      samples,
    };
    const traceFile = await writeTrace(job.bundleDir, trace);
    const result: ExecutionResult = {
      bundleDir: job.bundleDir,
      exitCode: outcome.exitCode,
      status: outcome.status,
      instructionCount: outcome.instructionCount ?? 0n,
      trace,
      traceFile,
      ...(outcome.message === undefined ? {} : { message: outcome.message }),
    };
    options.onProgress?.({
      type: 'execution:finished',
      status: result.status,
      exitCode: result.exitCode,
      wallTimeMs,
    });
    return result;
  }

  async #runJob(
    prepared: Prepared,
    job: ExecutionJob & { manifest: WasmModuleManifest },
    run: { args: string[]; env: Record<string, string>; seed: Uint8Array; inputs: string | undefined },
    options: RunOptions,
  ): Promise<{ outcome: PoolOutcome; samples: ExecutionTrace['samples'] }> {
    const stdoutFd = openSync(join(job.bundleDir, 'stdout'), 'w');
    const stderrFd = openSync(join(job.bundleDir, 'stderr'), 'w');
    const shared = jobSharedMemory();
    const memoryPages = new Int32Array(shared, 0, 1);
    const preopens: Preopen[] = [
      { guestPath: '/inputs', hostPath: run.inputs, writable: false },
      { guestPath: '/outputs', hostPath: await realpath(join(job.bundleDir, 'outputs')), writable: true },
    ];
    const sampling = startSampling(() => ({ memoryBytes: Atomics.load(memoryPages, 0) * WASM_PAGE_BYTES }));
    try {
      const outcome = await this.#pool.run(
        {
          module: prepared.module,
          args: run.args,
          env: run.env,
          seed: run.seed,
          fixedTimeNs: FIXED_TIME_NS,
          stdoutFd,
          stderrFd,
          outputLimit: job.limits?.outputBytes ?? this.#outputBytes,
          memoryMaxBytes: prepared.memoryMaxBytes,
          preopens,
          fileBytes: job.limits?.fileBytes ?? job.manifest.spec.disk * MIB,
          instructionBudget: this.#metering
            ? (job.limits?.instructions ?? UNLIMITED_INSTRUCTIONS)
            : undefined,
          shared,
        },
        {
          wallTimeMs: job.limits?.wallTimeMs ?? job.manifest.timeoutSeconds * 1000,
          ...(options.signal ? { signal: options.signal } : {}),
          onStarted: () => options.onProgress?.({ type: 'execution:started', kind: 'wasm' }),
        },
      );
      const lastSeen = Atomics.load(memoryPages, 0) * WASM_PAGE_BYTES;
      return {
        outcome: { ...outcome, memoryPeakBytes: outcome.memoryPeakBytes ?? lastSeen },
        samples: sampling.stop(),
      };
    } finally {
      sampling.stop();
      closeQuietly(stdoutFd);
      closeQuietly(stderrFd);
    }
  }
}
