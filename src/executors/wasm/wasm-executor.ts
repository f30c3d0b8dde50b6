/**
 * The WASM executor: runs a WASI preview1 module in a fresh worker thread per job, deterministically
 * (see worker.ts), within a memory limit (the module's memory maximum is rewritten before compiling),
 * an output limit (enforced in the worker) and a wall-clock limit (the worker is terminated).
 *
 * Compiled modules are cached in this process by file hash and memory limit, so a job pays only for
 * the worker's start-up (~25 ms) and the module's own run.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EntryArgument, ModuleManifest } from '../../modules/manifest.js';
import { LilypadError } from '../../protocol/errors.js';
import type { ExecutionJob, ExecutionResult, ExecutionStatus, Executor, RunOptions } from '../executor.js';
import { limitMemory, MemoryLimitError, WASM_PAGE_BYTES } from './binary.js';
import type { WasmApi, WasmModule } from './wasm-api.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

/** What clocks read inside a module: 2000-01-01T00:00:00Z, in nanoseconds. */
export const FIXED_TIME_NS = 946_684_800_000_000_000n;
export const DEFAULT_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_PAGES = 65_536;
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// wasi_snapshot_preview1, complete: anything else in that namespace would fail to link.
const WASI_FUNCTIONS = new Set([
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
]);

export type WasmExecutorOptions = {
  /** Output limit (stdout + stderr) when the job sets none. */
  outputBytes?: number;
};

type Prepared = { module: WasmModule; memoryMaxBytes: number };

const hashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();
const compiled = new Map<string, Promise<Prepared>>();
const COMPILED_CACHE_SIZE = 32;

let liveWorkers = 0;

/** Worker threads of this executor that have not exited yet (for tests and diagnostics). */
export function activeWasmWorkers(): number {
  return liveWorkers;
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

/** Compiles (or reuses) the module at `path` with its memory capped at `limitPages`. */
async function prepare(path: string, limitPages: number, name: string): Promise<Prepared> {
  const { hash, bytes } = await fileHash(path);
  const key = `${hash}:${limitPages}`;
  let entry = compiled.get(key);
  if (!entry) {
    entry = (async () => {
      const source = bytes ?? (await readFile(path));
      const limited = limitMemory(source, limitPages);
      let module: WasmModule;
      try {
        module = await WebAssembly.compile(limited.bytes);
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

let workerUrl: Promise<URL> | undefined;

/**
 * worker.js next to this file after tsc; from the TypeScript sources (tsx, vitest) worker.ts is
 * transpiled once with esbuild (tsx's own) and started from a data: URL, because Node 20 applies no
 * loader hooks to a worker's entry module.
 */
function workerEntry(): Promise<URL> {
  workerUrl ??= (async () => {
    if (!import.meta.url.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
    const source = await readFile(new URL('./worker.ts', import.meta.url), 'utf8');
    const { transform } = await import('esbuild');
    const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'node20' });
    return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  })();
  workerUrl.catch(() => {
    workerUrl = undefined;
  });
  return workerUrl;
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
export function moduleArgs(manifest: ModuleManifest, inputs: Record<string, string>): string[] {
  return [
    manifest.name,
    ...manifest.entry.args.map((arg, i) => argumentValue(arg, inputs, `entry.args[${i}]`)),
  ];
}

/** The environment, keys inserted in sorted order (WASI passes them in insertion order). */
export function moduleEnv(manifest: ModuleManifest, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  const entries = Object.entries(manifest.entry.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, arg] of entries) env[key] = argumentValue(arg, inputs, `entry.env.${key}`);
  return env;
}

/** The memory limit in pages: the manifest's (memoryPages, else spec.ram), lowered by the job's. */
export function memoryLimitPages(manifest: ModuleManifest, memoryBytes?: number): number {
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

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

type Outcome = { status: ExecutionStatus; exitCode: number; memoryPeakBytes?: number; message?: string };

export class WasmExecutor implements Executor {
  readonly kind = 'wasm' as const;
  readonly #outputBytes: number;

  constructor(options: WasmExecutorOptions = {}) {
    this.#outputBytes = options.outputBytes ?? DEFAULT_OUTPUT_BYTES;
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
    const seed = seedBytes(job.seed);
    const args = moduleArgs(manifest, job.inputs);
    const env = moduleEnv(manifest, job.inputs);
    const limitPages = memoryLimitPages(manifest, job.limits?.memoryBytes);
    const wallTimeMs = job.limits?.wallTimeMs ?? manifest.timeoutSeconds * 1000;
    const outputLimit = job.limits?.outputBytes ?? this.#outputBytes;

    let prepared: Prepared | undefined;
    let refused: Outcome | undefined;
    try {
      prepared = await prepare(wasmPath, limitPages, manifest.name);
    } catch (error) {
      if (!(error instanceof MemoryLimitError)) throw error;
      // Deterministic: the module cannot start within its limit anywhere.
      refused = { status: 'out-of-memory', exitCode: 137, memoryPeakBytes: 0, message: error.message };
    }

    await createBundle(job.bundleDir);
    const started = performance.now();
    let outcome: Outcome;
    if (refused) outcome = refused;
    else if (options.signal?.aborted) outcome = { status: 'cancelled', exitCode: 130, memoryPeakBytes: 0 };
    else
      outcome = await this.#runWorker(
        prepared as Prepared,
        job,
        { args, env, seed, wallTimeMs, outputLimit },
        options,
      );
    const wallTime = performance.now() - started;

    await writeFile(join(job.bundleDir, 'exitCode'), `${outcome.exitCode}\n`);
    const result: ExecutionResult = {
      bundleDir: job.bundleDir,
      exitCode: outcome.exitCode,
      status: outcome.status,
      instructionCount: 0n, // no metering yet
      trace: { wallTimeMs: Math.round(wallTime), memoryPeakBytes: outcome.memoryPeakBytes ?? 0 },
      ...(outcome.message === undefined ? {} : { message: outcome.message }),
    };
    options.onProgress?.({
      type: 'execution:finished',
      status: result.status,
      exitCode: result.exitCode,
      wallTimeMs: result.trace.wallTimeMs,
    });
    return result;
  }

  async #runWorker(
    prepared: Prepared,
    job: ExecutionJob,
    run: {
      args: string[];
      env: Record<string, string>;
      seed: Uint8Array;
      wallTimeMs: number;
      outputLimit: number;
    },
    options: RunOptions,
  ): Promise<Outcome> {
    const url = await workerEntry();
    const stdinFd = openSync(devNull, 'r');
    const stdoutFd = openSync(join(job.bundleDir, 'stdout'), 'w');
    const stderrFd = openSync(join(job.bundleDir, 'stderr'), 'w');
    const stats = new SharedArrayBuffer(4);
    const request: WorkerRequest = {
      module: prepared.module,
      args: run.args,
      env: run.env,
      seed: run.seed,
      fixedTimeNs: FIXED_TIME_NS,
      stdinFd,
      stdoutFd,
      stderrFd,
      outputLimit: run.outputLimit,
      memoryMaxBytes: prepared.memoryMaxBytes,
      stats,
    };
    const lastSeenMemory = () => Atomics.load(new Int32Array(stats), 0) * WASM_PAGE_BYTES;

    let worker: Worker;
    try {
      worker = new Worker(url, {
        workerData: request,
        execArgv: [],
        // The module's memory is not on the JS heap; this bounds only the glue.
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      });
    } catch (error) {
      for (const fd of [stdinFd, stdoutFd, stderrFd]) closeQuietly(fd);
      throw error;
    }
    liveWorkers++;
    const exited = new Promise<void>((done) =>
      worker.once('exit', () => {
        liveWorkers--;
        done();
      }),
    );

    const outcome = await new Promise<Outcome>((resolveOutcome, rejectOutcome) => {
      let started = false;
      const cleanUp = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const settle = (value: Outcome) => {
        cleanUp();
        resolveOutcome(value);
      };
      const fail = (error: LilypadError) => {
        cleanUp();
        rejectOutcome(error);
      };
      const timer = setTimeout(
        () => settle({ status: 'timed-out', exitCode: 124, message: `timed out after ${run.wallTimeMs} ms` }),
        run.wallTimeMs,
      );
      const onAbort = () => settle({ status: 'cancelled', exitCode: 130, message: 'cancelled' });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (message: WorkerResponse) => {
        if (message.type === 'started') {
          started = true;
          options.onProgress?.({ type: 'execution:started', kind: 'wasm' });
          return;
        }
        settle({
          status: message.status,
          exitCode: message.exitCode,
          memoryPeakBytes: message.memoryPeakBytes,
          ...(message.message === undefined ? {} : { message: message.message }),
        });
      });
      worker.once('error', (error) => {
        // Before the module started it is our failure, not the job's.
        if (!started)
          fail(new LilypadError(`the WASM worker failed to start: ${error.message}`, { cause: error }));
        else settle({ status: 'failed', exitCode: 134, message: `worker error: ${error.message}` });
      });
      worker.once('exit', (code) => {
        if (!started) fail(new LilypadError(`the WASM worker exited (${code}) before starting the module`));
        else settle({ status: 'failed', exitCode: 134, message: `worker exited with ${code}` });
      });
    }).finally(async () => {
      await worker.terminate();
      await exited;
      for (const fd of [stdinFd, stdoutFd, stderrFd]) closeQuietly(fd);
    });
    return { ...outcome, memoryPeakBytes: outcome.memoryPeakBytes ?? lastSeenMemory() };
  }
}
