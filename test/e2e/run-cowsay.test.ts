/**
 * The walking skeleton, end to end through the real CLI and the real services: a `lilypad devnet` in
 * one process, `lilypad run` in another, then the same run on an embedded network.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicClientFor } from '../../src/chain/clients.js';
import { escrowBalance } from '../../src/chain/deals.js';
import { devAccount, devAccounts } from '../../src/chain/dev-accounts.js';
import { type DevnetState, readDevnetState } from '../../src/devnet/state-file.js';
import { defaults } from '../../src/protocol/defaults.js';
import { signingFetch } from '../../src/protocol/signed-request.js';
import { folderCid } from '../../src/storage/unixfs.js';
import { compileAssemblyScriptFile } from '../executors/assemblyscript.js';
import { MOO_STDOUT } from '../fixtures/cow.js';
import { runCli, startCli, stopCli } from './cli.js';

const COW_SAYING_MOO = MOO_STDOUT.trimEnd();

const address = (role: string) => devAccounts.find((a) => a.role === role)?.address as `0x${string}`;

/**
 * The anvil processes started with this data dir: they inherit LILYPAD_DATA_DIR from the `lilypad run` that started
 * them. Other tests, running at the same time, start and stop anvils of their own.
 */
function anvilProcesses(dataDir: string): string[] {
  let pids: string[];
  try {
    pids = execFileSync('pgrep', ['-f', 'anvil-linux'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`LILYPAD_DATA_DIR=${dataDir}`);
    } catch {
      return false; // gone
    }
  });
}

/** The executors' compliance module in "copy" mode: copies every file of /inputs to /outputs. */
async function writeCopyModule(moduleDir: string): Promise<string> {
  await mkdir(moduleDir);
  await writeFile(join(moduleDir, 'copy.wasm'), await compileAssemblyScriptFile('compliance.as'));
  await writeFile(
    join(moduleDir, 'lilypad.module.json'),
    JSON.stringify({
      name: 'copy',
      version: 'v1',
      description: 'copies its input file to its outputs',
      executor: 'wasm',
      entry: { wasm: 'copy.wasm', args: ['copy', { input: 'Image' }] },
      inputs: { Image: { type: 'file', description: 'any file', maxBytes: 1_000_000 } },
      spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 16, disk: 4 },
      timeoutSeconds: 30,
      deterministic: true,
    }),
  );
  return moduleDir;
}

describe('lilypad run against a running devnet', () => {
  let dataDir: string;
  let devnet: ChildProcess;
  let state: DevnetState;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lilypad-e2e-'));
    const start = () =>
      startCli(['devnet', '--data-dir', dataDir, '--web-port', '0'], {}, /In another terminal/, 40_000);
    // One devnet start-up under a loaded CI machine was seen to stall (not reproduced since): say so
    // with what it printed, and try once more rather than fail every test of the file.
    devnet = await start().catch((error: unknown) => {
      console.warn(`devnet start-up failed, retrying once: ${(error as Error).message}`);
      return start();
    });
    state = (await readDevnetState(dataDir)) as DevnetState;
  }, 90_000);

  afterAll(async () => {
    if (devnet) await stopCli(devnet);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('announces itself in the state file', () => {
    expect(state.pid).toBe(devnet.pid);
    expect(state.network.solverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs cowsay, verifies the result and pays the provider exactly the cost', async () => {
    const client = publicClientFor(state.network.rpcUrl, state.network.chainId);
    const jc = address('jobCreator');
    const rp = address('resourceProvider');
    const before = {
      jc: await escrowBalance(client, state.network, jc),
      rp: await escrowBalance(client, state.network, rp),
    };

    const run = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=moo', '--json'], {
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as {
      resultCID: string;
      resultDir: string;
      stdout: string;
      cost: string;
      network: string;
    };
    expect(outcome.network).toBe('devnet');
    expect(outcome.stdout).toBe(`${COW_SAYING_MOO}\n`);
    expect(outcome.resultDir).toBe(join(dataDir, 'downloaded-files', outcome.resultCID));
    expect(await readFile(join(outcome.resultDir, 'stdout'), 'utf8')).toBe(`${COW_SAYING_MOO}\n`);
    expect(await readFile(join(outcome.resultDir, 'exitCode'), 'utf8')).toBe('0\n');
    expect(await readFile(join(outcome.resultDir, 'stderr'), 'utf8')).toBe('');
    // The folder on disk is exactly the content the provider committed to on-chain.
    expect((await folderCid(outcome.resultDir)).toString()).toBe(outcome.resultCID);

    const cost = BigInt(outcome.cost);
    expect(cost).toBe(defaults.resourceProvider.fixedPrice);
    const after = {
      jc: await escrowBalance(client, state.network, jc),
      rp: await escrowBalance(client, state.network, rp),
    };
    expect(after.jc.free).toBe(before.jc.free - cost);
    expect(after.jc.locked).toBe(before.jc.locked);
    expect(after.rp.free).toBe(before.rp.free + cost);
    expect(after.rp.locked).toBe(before.rp.locked);
  });

  it('gives the same result CID for the same module and inputs', async () => {
    const first = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=same', '--json'], {
      LILYPAD_DATA_DIR: dataDir,
    });
    const second = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=same', '--json'], {
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).resultCID).toBe(JSON.parse(first.stdout).resultCID);
    expect(JSON.parse(second.stdout).dealId).not.toBe(JSON.parse(first.stdout).dealId);
  });

  it('prints live progress and the result path for a person', async () => {
    const run = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=moo'], { LILYPAD_DATA_DIR: dataDir });
    expect(run.code, run.stderr).toBe(0);
    for (const step of [
      'job offer posted',
      'matched with resource provider',
      'deal agreed on-chain',
      'running',
      'results submitted',
      'result downloaded and verified',
      'result accepted',
    ]) {
      expect(run.stderr).toContain(step);
    }
    expect(run.stdout).toContain(COW_SAYING_MOO);
    expect(run.stdout).toMatch(new RegExp(`Result: ${join(dataDir, 'downloaded-files')}/b[a-z2-7]+/`));
  });

  it('sends a file input as a CID through the directory: the module reads it at /inputs/<Name>', async () => {
    const moduleDir = await writeCopyModule(join(dataDir, 'copy-module'));
    const image = join(dataDir, 'photo.png');
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251); // several UnixFS chunks
    await writeFile(image, bytes);
    const run = await runCli(['run', moduleDir, '-i', `Image=@${image}`, '--json'], {
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(run.code, run.stderr).toBe(0);
    const { resultDir } = JSON.parse(run.stdout) as { resultDir: string };
    expect(new Uint8Array(await readFile(join(resultDir, 'outputs', 'Image')))).toEqual(bytes);
  }, 120_000);

  it('runs a private job: the provider gets its file input, the job creator its verified result, nobody else either', async () => {
    const moduleDir = await writeCopyModule(join(dataDir, 'private-copy-module'));
    const secret = join(dataDir, 'secret.bin');
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 13) % 251);
    await writeFile(secret, bytes);
    const run = await runCli(['run', moduleDir, '-i', `Image=@${secret}`, '--private', '--json'], {
      LILYPAD_DATA_DIR: dataDir,
    });
    expect(run.code, run.stderr).toBe(0);
    const { resultDir, resultCID } = JSON.parse(run.stdout) as { resultDir: string; resultCID: string };
    expect(new Uint8Array(await readFile(join(resultDir, 'outputs', 'Image')))).toEqual(bytes);
    expect((await folderCid(resultDir)).toString()).toBe(resultCID);
    const result = `${state.network.solverUrl}/ipfs/${resultCID}?format=car`;
    const unsigned = await fetch(result);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toMatch(/only its members may download it/);
    const jobCreator = privateKeyToAccount(devAccount('jobCreator').privateKey);
    const signed = await signingFetch(jobCreator)(result);
    expect(signed.status).toBe(200);
    await signed.arrayBuffer();
  }, 120_000);

  it('refuses an input the module does not have, naming it, before anything is signed', async () => {
    const run = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Mesage=moo'], { LILYPAD_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Mesage/);
    expect(run.stderr).toMatch(/Message/);
  });
});

describe('lilypad run with no network', () => {
  it('starts an embedded network, runs the job and stops everything it started', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-e2e-embedded-'));
    try {
      const run = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=moo'], { LILYPAD_DATA_DIR: dataDir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('no network configured');
      expect(run.stdout).toContain(COW_SAYING_MOO);
      expect(anvilProcesses(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('lilypad --help', () => {
  it('explains every flag and environment variable of run', async () => {
    const help = await runCli(['run', '--help'], {});
    expect(help.code).toBe(0);
    for (const word of [
      '--input',
      '--max-price',
      '--data-dir',
      '--json',
      '--timeout',
      '--private',
      'WEB3_PRIVATE_KEY',
      'WEB3_RPC_URL',
      'LILYPAD_SOLVER_URL',
      'LILYPAD_DATA_DIR',
    ]) {
      expect(help.stdout).toContain(word);
    }
    const top = await runCli(['--help'], {});
    for (const command of ['run', 'devnet', 'solver', 'resource-provider'])
      expect(top.stdout).toContain(command);
  });
});
