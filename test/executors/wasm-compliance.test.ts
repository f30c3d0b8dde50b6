/**
 * The compliance suite on the WASM executor. Every fixture is the same AssemblyScript command
 * (assembly/compliance.as, compiled here), started in a different mode by its manifest.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmExecutor } from '../../src/executors/wasm/wasm-executor.js';
import { MANIFEST_FILE, type ModuleManifest, parseManifest } from '../../src/modules/manifest.js';
import { compileAssemblyScriptFile } from './assemblyscript.js';
import { type ComplianceFixture, type ComplianceFixtures, runExecutorCompliance } from './compliance.js';

const message = { type: 'string', description: 'a message' } as const;

runExecutorCompliance('wasm', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-wasm-fixtures-'));
  const binary = await compileAssemblyScriptFile('compliance.as');
  const fixture = async (
    mode: string,
    more: {
      args?: ModuleManifest['entry']['args'];
      env?: Record<string, { input: string }>;
      inputs?: object;
    } = {},
  ): Promise<ComplianceFixture> => {
    const moduleDir = join(dir, mode);
    await mkdir(moduleDir);
    const manifest = parseManifest({
      name: `compliance-${mode}`,
      version: 'v0',
      description: `compliance fixture: ${mode}`,
      executor: 'wasm',
      entry: {
        wasm: 'compliance.wasm',
        args: [mode, ...(more.args ?? [])],
        ...(more.env ? { env: more.env } : {}),
      },
      inputs: more.inputs ?? {},
      spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 256, disk: 16 },
      timeoutSeconds: 30,
      deterministic: true,
    });
    await writeFile(join(moduleDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(moduleDir, 'compliance.wasm'), binary);
    return { moduleDir, manifest };
  };
  const withMessage = { args: [{ input: 'Message' }], inputs: { Message: message } };
  const fixtures: ComplianceFixtures = {
    echo: await fixture('echo', { ...withMessage, env: { MESSAGE: { input: 'Message' } } }),
    exit: await fixture('exit', {
      args: [{ input: 'Code' }],
      inputs: { Code: { type: 'integer', description: 'the exit code', min: 0, max: 255 } },
    }),
    stderr: await fixture('stderr', withMessage),
    copyInputs: await fixture('copy'),
    network: await fixture('network'),
    sleep: await fixture('sleep'),
    memoryBomb: await fixture('memory'),
    flood: await fixture('flood'),
    deterministic: await fixture('deterministic', withMessage),
  };
  return {
    executor: new WasmExecutor(),
    fixtures,
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});
