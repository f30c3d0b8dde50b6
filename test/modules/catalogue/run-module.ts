/**
 * Runs a built-in module of the catalogue the way a resource provider does: resolve the reference,
 * validate the inputs against the manifest, and run it with the real executor, input files mounted at
 * /inputs. One scratch folder per test file.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionResult, Executor } from '../../../src/executors/executor.js';
import { WasmExecutor } from '../../../src/executors/wasm/wasm-executor.js';
import { fileInputNames, INPUTS_MOUNT } from '../../../src/modules/file-inputs.js';
import { validateInputs } from '../../../src/modules/inputs.js';
import { resolveModule } from '../../../src/modules/resolve.js';
import { memoryBlockstore } from '../../../src/storage/blockstore.js';
import { importPath } from '../../../src/storage/unixfs.js';

export type ModuleRun = ExecutionResult & {
  stdout: string;
  stderr: string;
  /** A file the module wrote under /outputs. */
  output(name: string): Promise<Buffer>;
};

export type ModuleRunner = {
  run(
    ref: string,
    inputs: Record<string, string>,
    files?: Record<string, Uint8Array | string>,
  ): Promise<ModuleRun>;
  remove(): Promise<void>;
};

export async function moduleRunner(executor: Executor = new WasmExecutor()): Promise<ModuleRunner> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-catalogue-'));
  let runs = 0;
  return {
    async run(ref, raw, files = {}) {
      const module = await resolveModule(ref);
      const n = runs++;
      const inputsDir = join(dir, `inputs-${n}`);
      await mkdir(inputsDir);
      // A file input is given by its CID, and the module sees its path, as on a resource provider.
      const given = { ...raw };
      const mounted: Record<string, string> = {};
      for (const [name, content] of Object.entries(files)) {
        const path = join(inputsDir, name);
        await writeFile(path, content);
        if (fileInputNames(module.manifest).includes(name)) {
          given[name] = (await importPath(memoryBlockstore(), path)).toString();
          mounted[name] = `${INPUTS_MOUNT}/${name}`;
        }
      }
      const bundleDir = join(dir, `bundle-${n}`);
      const result = await executor.run({
        moduleDir: module.dir,
        manifest: module.manifest,
        inputs: { ...validateInputs(module.manifest, given), ...mounted },
        seed: '0x01',
        bundleDir,
        inputsDir,
      });
      return {
        ...result,
        stdout: await readFile(join(bundleDir, 'stdout'), 'utf8'),
        stderr: await readFile(join(bundleDir, 'stderr'), 'utf8'),
        output: (name) => readFile(join(bundleDir, 'outputs', name)),
      };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
