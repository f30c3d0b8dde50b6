/**
 * A WASM job thread: runs WASI (preview1) modules one job at a time, each in a fresh instance with a
 * fresh WASI (wasi.ts), and reports how each ended. The parent (worker-pool.ts) keeps this thread for
 * the next job when the job ended by itself, and terminates it for wall-clock limits and cancellation,
 * so nothing here waits on time.
 *
 * From the TypeScript sources this file is bundled with its imports by esbuild and started from a
 * data: URL (see worker-pool.ts): keep its imports to Node built-ins and the executor's own files.
 */
import { parentPort } from 'node:worker_threads';
import {
  GROW_FAILED_EXPORT,
  INSTRUCTIONS_LEFT_EXPORT,
  STACK_BYTES_EXPORT,
  STACK_LIMIT_BYTES,
  START_EXPORT,
} from './metering.js';
import { OutputLimitReached, ProcExit, Wasi } from './wasi.js';
import { FileLimitReached, type Preopen } from './wasi-files.js';
import type { WasmApi, WasmGlobal, WasmInstance, WasmMemory, WasmModule } from './wasm-api.js';

export type WorkerJob = {
  module: WasmModule;
  args: string[];
  env: Record<string, string>;
  seed: Uint8Array;
  fixedTimeNs: bigint;
  stdoutFd: number;
  stderrFd: number;
  /** stdout and stderr together. */
  outputLimit: number;
  /** The memory's maximum after the rewrite: a trap with memory this full is an out-of-memory. */
  memoryMaxBytes: number;
  preopens: Preopen[];
  fileBytes: number;
  /** The instruction budget when the module is metered (metering.ts), else undefined. */
  instructionBudget: bigint | undefined;
  /**
   * Int32 [0]: memory pages last seen, [1…]: host descriptors the job holds open (-1 when free).
   * Shared, so the parent can read both after it terminates this thread.
   */
  shared: SharedArrayBuffer;
};

export type WorkerStatus =
  | 'succeeded'
  | 'failed'
  | 'out-of-memory'
  | 'output-limit'
  | 'file-limit'
  | 'instruction-limit'
  | 'stack-overflow';

export type WorkerRequest = { type: 'run'; job: WorkerJob };

export type WorkerResponse =
  | { type: 'started' }
  | {
      type: 'finished';
      status: WorkerStatus;
      exitCode: number;
      memoryPeakBytes: number;
      /** Metered modules only. */
      instructionCount?: bigint;
      message?: string;
    };

const PAGE = 65_536;
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

type Finished = Omit<Extract<WorkerResponse, { type: 'finished' }>, 'type' | 'memoryPeakBytes'>;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function execute(job: WorkerJob, shared: Int32Array): Finished & { memory?: WasmMemory } {
  let memory: WasmMemory | undefined;
  const observe = () => {
    if (memory) Atomics.store(shared, 0, memory.buffer.byteLength / PAGE);
  };
  const wasi = new Wasi({
    args: job.args,
    env: job.env,
    seed: job.seed,
    fixedTimeNs: job.fixedTimeNs,
    stdoutFd: job.stdoutFd,
    stderrFd: job.stderrFd,
    outputLimit: job.outputLimit,
    preopens: job.preopens,
    fileBytes: job.fileBytes,
    hostFds: shared.subarray(1),
    onHostCall: observe,
  });
  let instance: WasmInstance;
  try {
    instance = new WebAssembly.Instance(job.module, wasi.imports());
  } catch (error) {
    const message = (error as Error).message;
    // V8 could not reserve the memory the module starts with.
    if (error instanceof RangeError && /memory/i.test(message)) {
      return { status: 'out-of-memory', exitCode: 137, message };
    }
    return { status: 'failed', exitCode: 134, message: `instantiation failed: ${message}` };
  }
  memory = instance.exports.memory as WasmMemory;
  wasi.attach(memory);
  observe();
  const meter = {
    left: instance.exports[INSTRUCTIONS_LEFT_EXPORT] as WasmGlobal | undefined,
    stack: instance.exports[STACK_BYTES_EXPORT] as WasmGlobal | undefined,
    growFailed: instance.exports[GROW_FAILED_EXPORT] as WasmGlobal | undefined,
  };
  const budget = job.instructionBudget;
  const { left } = meter;
  if (left && budget !== undefined) left.value = budget;
  const counted = () =>
    left && budget !== undefined ? { instructionCount: budget - (left.value as bigint) } : {};

  let ended: Finished;
  try {
    (instance.exports[START_EXPORT] as (() => void) | undefined)?.();
    (instance.exports._start as () => void)();
    ended = { status: 'succeeded', exitCode: 0 };
  } catch (error) {
    ended = classify(error, job, memory, meter);
  } finally {
    wasi.files.closeAll();
  }
  return { ...ended, ...counted(), memory };
}

type Meter = {
  left?: WasmGlobal | undefined;
  stack?: WasmGlobal | undefined;
  growFailed?: WasmGlobal | undefined;
};

function classify(error: unknown, job: WorkerJob, memory: WasmMemory, meter: Meter): Finished {
  const { left, stack, growFailed } = meter;
  if (error instanceof ProcExit) {
    return { status: error.code === 0 ? 'succeeded' : 'failed', exitCode: error.code };
  }
  if (error instanceof OutputLimitReached) {
    return { status: 'output-limit', exitCode: 153, message: 'output limit reached (stdout and stderr)' };
  }
  if (error instanceof FileLimitReached) {
    return { status: 'file-limit', exitCode: 153, message: `file bytes limit of ${job.fileBytes} reached` };
  }
  // A trap with the counter below zero is the budget: no other block runs once it is crossed.
  if (left && (left.value as bigint) < 0n) {
    return {
      status: 'instruction-limit',
      exitCode: 152,
      message: `instruction budget of ${job.instructionBudget} exhausted`,
    };
  }
  if (stack && (stack.value as number) > STACK_LIMIT_BYTES) {
    return {
      status: 'stack-overflow',
      exitCode: 139,
      message: `call stack limit reached (${STACK_LIMIT_BYTES} bytes, metered)`,
    };
  }
  const message = describe(error);
  if (error instanceof RangeError && /call stack/i.test(message)) {
    return { status: 'stack-overflow', exitCode: 139, message: `host stack exhausted: ${message}` };
  }
  // A trap after a failed memory.grow (metered), or with memory at its maximum (not metered): the module
  // ran out; AssemblyScript, Rust and C allocators trap when memory.grow fails.
  const full = growFailed ? growFailed.value === 1 : memory.buffer.byteLength + PAGE > job.memoryMaxBytes;
  if (full || (error instanceof RangeError && /memory/i.test(message))) {
    return { status: 'out-of-memory', exitCode: 137, message };
  }
  return { status: 'failed', exitCode: 134, message };
}

port.on('message', (request: WorkerRequest) => {
  const job = request.job;
  const shared = new Int32Array(job.shared);
  port.postMessage({ type: 'started' } satisfies WorkerResponse);
  const { memory, ...outcome } = execute(job, shared);
  const memoryPeakBytes = memory ? memory.buffer.byteLength : 0;
  Atomics.store(shared, 0, memoryPeakBytes / PAGE);
  port.postMessage({ type: 'finished', ...outcome, memoryPeakBytes } satisfies WorkerResponse);
});
