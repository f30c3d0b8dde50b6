/**
 * Jobs for the WASM executor tests: a scratch folder, hand-assembled modules written into module
 * folders, and result bundle paths that never collide.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionJob } from '../../src/executors/executor.js';
import type { WasmModuleManifest } from '../../src/modules/manifest.js';
import { assemble, iovec, type ModuleSpec, op } from './wasm-assembler.js';

export function manifestFor(overrides: Partial<WasmModuleManifest> = {}): WasmModuleManifest {
  return {
    name: 'test',
    version: 'v0',
    description: 'a hand-assembled test module',
    executor: 'wasm',
    entry: { wasm: 'test.wasm', args: [] },
    inputs: {},
    spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 16, disk: 1 },
    timeoutSeconds: 10,
    memoryPages: 16,
    deterministic: true,
    ...overrides,
  };
}

export type Workspace = {
  dir: string;
  nextBundle(): string;
  /** A job for a module assembled from `spec` (or given as bytes), in a folder of its own. */
  moduleJob(spec: ModuleSpec | Uint8Array, job?: Partial<ExecutionJob>): Promise<ExecutionJob>;
  remove(): Promise<void>;
};

export async function workspace(prefix = 'lilypad-wasm-'): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let bundles = 0;
  let modules = 0;
  const nextBundle = () => join(dir, 'bundles', String(bundles++));
  return {
    dir,
    nextBundle,
    async moduleJob(spec, job = {}) {
      const moduleDir = join(dir, 'modules', String(modules++));
      await mkdir(moduleDir, { recursive: true });
      await writeFile(join(moduleDir, 'test.wasm'), spec instanceof Uint8Array ? spec : assemble(spec));
      return {
        moduleDir,
        manifest: manifestFor(),
        inputs: {},
        seed: '0x00',
        bundleDir: nextBundle(),
        ...job,
      };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Writes `length` bytes at `ptr` to stdout with fd_write (import 0), using 16 bytes at `scratch`. */
export const writeOut = (ptr: number, length: number, scratch: number) => ({
  data: { offset: scratch, bytes: iovec(ptr, length) },
  body: [...op.i32(1), ...op.i32(scratch), ...op.i32(1), ...op.i32(scratch + 8), ...op.call(0), ...op.drop],
});
