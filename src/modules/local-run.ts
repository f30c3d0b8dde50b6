/**
 * Runs a module on this machine, with no network: what `lilypad module run`, the tests of
 * `lilypad module build` and `lilypad module info` use. File inputs (`@path`) go through the same CID
 * round trip as on the network, so the module sees exactly what a provider would give it.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerExecutor } from '../executors/docker/docker-executor.js';
import type { ExecutionResult } from '../executors/executor.js';
import { WasmExecutor } from '../executors/wasm/wasm-executor.js';
import { memoryBlockstore } from '../storage/blockstore.js';
import { exportPath } from '../storage/unixfs.js';
import { fileInputNames, importFileInputs, materializeFileInputs } from './file-inputs.js';
import { validateInputs } from './inputs.js';
import type { ResolvedModule } from './resolve.js';

export type LocalRun = { result: ExecutionResult; stdout: string; stderr: string };

/** Runs `module` with raw inputs into `bundleDir` (must not exist); seed: the job's seed, hex. */
export async function runLocally(
  module: ResolvedModule,
  raw: Record<string, string>,
  bundleDir: string,
  seed = '00',
): Promise<LocalRun> {
  const blockstore = memoryBlockstore();
  const { inputs: withCids } = await importFileInputs(module.manifest, raw, blockstore);
  const validated = validateInputs(module.manifest, withCids);
  const scratch = await mkdtemp(join(tmpdir(), 'lilypad-inputs-'));
  try {
    const inputsDir = join(scratch, 'inputs');
    await mkdir(inputsDir);
    const inputs = await materializeFileInputs(module.manifest, validated, inputsDir, (cid, target) =>
      exportPath(blockstore, cid, target),
    );
    const executor = module.manifest.executor === 'wasm' ? new WasmExecutor() : new DockerExecutor();
    const result = await executor.run({
      moduleDir: module.dir,
      manifest: module.manifest,
      inputs,
      seed,
      bundleDir,
      ...(fileInputNames(module.manifest).length > 0 ? { inputsDir } : {}),
    });
    const [stdout, stderr] = await Promise.all([
      readFile(join(bundleDir, 'stdout'), 'utf8'),
      readFile(join(bundleDir, 'stderr'), 'utf8'),
    ]);
    return { result, stdout, stderr };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
