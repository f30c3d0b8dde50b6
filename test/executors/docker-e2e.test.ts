/**
 * A container job through the whole protocol on an in-process devnet: the resource provider picks the
 * Docker executor from the module's manifest, and the job creator gets the verified result.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { MANIFEST_FILE } from '../../src/modules/manifest.js';
import { defaults } from '../../src/protocol/defaults.js';
import { dockerSkipReason, shellManifest, testImage } from './docker-fixtures.js';

describe.skipIf(dockerSkipReason !== undefined)('a Docker module on the devnet', () => {
  let dataDir: string;
  let devnet: Devnet;
  let moduleDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lilypad-docker-e2e-'));
    const { id } = await testImage();
    moduleDir = join(dataDir, 'greeter');
    await mkdir(moduleDir);
    const manifest = shellManifest(id, 'printf "hello, %s\\n" "$1" | tee /outputs/greeting', {
      name: 'greeter',
      inputs: { Name: { type: 'string', description: 'who to greet', maxLength: 64 } },
      spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 32, disk: 1 },
    });
    manifest.entry.args.push('greeter', { input: 'Name' });
    await writeFile(join(moduleDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    devnet = await startDevnet({ dataDir: join(dataDir, 'devnet'), logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await devnet?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs in a container and comes back verified', async () => {
    const result = await runJob({
      network: devnet.network,
      privateKey: devAccounts.find((a) => a.role === 'jobCreator')?.privateKey as Hex,
      dataDir,
      module: moduleDir,
      inputs: { Name: 'container; $(id)' },
      maxPrice: defaults.maxPrice,
      mediationFee: defaults.mediationFee,
      mediators: devnet.mediators,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('hello, container; $(id)\n');
    expect(await readFile(join(result.resultDir, 'outputs', 'greeting'), 'utf8')).toBe(
      'hello, container; $(id)\n',
    );
  });
});
