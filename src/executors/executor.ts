/**
 * What every executor offers: run one job (a module folder, its manifest and validated inputs) into a
 * result bundle folder. The bundle holds exactly `stdout`, `stderr`, `exitCode` (decimal + "\n") and
 * `outputs/`, and is what gets imported as UnixFS and published.
 */
import type { ModuleManifest } from '../modules/manifest.js';

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
  limits?: {
    /** Default: the manifest's timeoutSeconds. */
    wallTimeMs?: number;
    /** Default: the manifest's memoryPages, else spec.ram. A lower value here can change results. */
    memoryBytes?: number;
    /** stdout and stderr together. */
    outputBytes?: number;
  };
};

export type ExecutionStatus =
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  | 'out-of-memory'
  | 'output-limit'
  | 'cancelled';

export type ExecutionResult = {
  bundleDir: string;
  /**
   * The module's exit code; when it did not exit by itself, a shell-style code for what stopped it:
   * 134 trap, 137 out of memory, 153 output limit, 124 timed out, 130 cancelled.
   */
  exitCode: number;
  status: ExecutionStatus;
  /** Instructions executed: always 0n until instruction metering exists. */
  instructionCount: bigint;
  trace: { wallTimeMs: number; memoryPeakBytes: number };
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
}
