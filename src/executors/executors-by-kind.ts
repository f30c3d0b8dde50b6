/**
 * The executors a party runs jobs with, by the manifest's `executor`: the ones it was given, and any other
 * created on its first job (a machine without Docker still runs WASM jobs).
 */
import { DockerExecutor } from './docker/docker-executor.js';
import type { Executor } from './executor.js';
import { WasmExecutor } from './wasm/wasm-executor.js';

export type ExecutorsByKind = (kind: Executor['kind']) => Executor;

export function executorsByKind(given: Partial<Record<Executor['kind'], Executor>> = {}): ExecutorsByKind {
  const executors = { ...given };
  return (kind) => {
    executors[kind] ??= kind === 'wasm' ? new WasmExecutor() : new DockerExecutor();
    return executors[kind];
  };
}
