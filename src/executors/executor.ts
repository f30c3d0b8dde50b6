/**
 * What every executor offers: run one job (a module folder, its manifest and validated inputs) into a
 * result bundle folder. The bundle holds exactly `stdout`, `stderr`, `exitCode` (decimal + "\n") and
 * `outputs/`, and is what gets imported as UnixFS and published. Beside it (never inside: the bundle's
 * CID must depend only on the job's output) the executor writes the run's trace, `traceFileFor(bundleDir)`
 * (see trace.ts): the evidence of work.
 *
 * Inside the job, `/inputs` is the job's input folder, read-only, and `/outputs` is the bundle's
 * `outputs/` folder, writable: what the module leaves there is the output.
 *
 * Every implementation passes the shared compliance suite, test/executors/compliance.ts.
 */
import type { ModuleManifest } from '../modules/manifest.js';
import type { ExecutionTrace } from './trace.js';

export type { ExecutionTrace, TraceSample } from './trace.js';

export type ExecutionJob = {
  /** The module folder (its manifest and artifacts). */
  moduleDir: string;
  manifest: ModuleManifest;
  /** Validated input values (see validateInputs). */
  inputs: Record<string, string>;
  /** Hex (e.g. the deal id): seeds the module's only source of randomness. */
  seed: string;
  /** Where the result bundle goes; created by the executor, must not exist or be empty. */
  bundleDir: string;
  /** A folder of input files, mounted read-only at `/inputs` (an empty folder when absent). */
  inputsDir?: string;
  limits?: {
    /** Default: the manifest's timeoutSeconds. */
    wallTimeMs?: number;
    /** Default: the manifest's memoryPages, else spec.ram. A lower value here can change results. */
    memoryBytes?: number;
    /** stdout and stderr together. */
    outputBytes?: number;
    /**
     * Bytes written to files under /outputs (a created file or folder counts as 4 KiB).
     * Default: the manifest's spec.disk (MB, 2^20 bytes).
     */
    fileBytes?: number;
    /**
     * WASM: the instruction budget. Past it the job stops with 'instruction-limit', at the same
     * instruction on every machine. Default: no budget (the wall-time limit still applies).
     */
    instructions?: bigint;
  };
};

export type ExecutionStatus =
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  | 'out-of-memory'
  | 'output-limit'
  | 'file-limit'
  | 'instruction-limit'
  | 'stack-overflow'
  | 'cancelled';

export type ExecutionResult = {
  bundleDir: string;
  /**
   * The module's exit code; when it did not exit by itself, a shell-style code for what stopped it:
   * 134 trap, 137 out of memory, 139 stack overflow, 152 instruction limit, 153 output or file limit,
   * 124 timed out, 130 cancelled.
   */
  exitCode: number;
  status: ExecutionStatus;
  /**
   * WASM: instructions executed, exact and the same on every machine (see wasm/metering.ts), also when
   * the instruction budget stopped the job; 0n when the job was stopped from outside (timed out,
   * cancelled) or by an executor that cannot count instructions.
   */
  instructionCount: bigint;
  trace: ExecutionTrace;
  /** Where the trace was written: `traceFileFor(bundleDir)`. */
  traceFile: string;
  /** Why the module stopped when it did not simply exit (trap text, limit): for logs, not in the bundle. */
  message?: string;
};

export type ExecutionProgress =
  | { type: 'execution:started'; kind: 'wasm' | 'docker' }
  | { type: 'execution:finished'; status: ExecutionStatus; exitCode: number; wallTimeMs: number };

export type RunOptions = {
  signal?: AbortSignal;
  onProgress?: (event: ExecutionProgress) => void;
};

export interface Executor {
  readonly kind: 'wasm' | 'docker';
  run(job: ExecutionJob, options?: RunOptions): Promise<ExecutionResult>;
  /** Prepares what the first job would otherwise wait for (e.g. a warm worker thread). */
  warmUp?(): Promise<void>;
}
