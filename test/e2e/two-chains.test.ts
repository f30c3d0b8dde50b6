/**
 * Any EVM chain, several at once, through the real CLI: `lilypad deploy` on two anvil chains with different chain
 * ids writes two network profiles; a `lilypad solver --network …` on each registers its URL on-chain; ONE
 * `lilypad resource-provider --network a --network b` process serves both; `lilypad run --network …` finds each
 * solver from the chain and gets its cow, and the provider is paid on both chains.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hex, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { publicClientFor } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance, solverUrlOf } from '../../src/chain/deals.js';
import { fundDevNetwork } from '../../src/chain/deploy.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type NetworkProfile, readProfile } from '../../src/cli/network-profiles.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { MOO_STDOUT } from '../fixtures/cow.js';
import { runCli, startCli, stopCli } from './cli.js';

const deployer = devAccount('deployer');
const solver = devAccount('solver');
const provider = devAccount('resourceProvider');
const jobCreator = devAccount('jobCreator');
const mediator = devAccount('mediator');

/** Two chains: one profile named on the command line, one with the default name `chain-<id>`. */
const CHAINS = [
  { chainId: 7001, name: 'alpha' },
  { chainId: 7002, name: 'chain-7002' },
] as const;

let dataDir: string;
const anvils: Anvil[] = [];
const services: ChildProcess[] = [];
const profiles: NetworkProfile[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-two-chains-'));
  const env = { LILYPAD_DATA_DIR: dataDir };
  anvils.push(...(await Promise.all(CHAINS.map(({ chainId }) => startAnvil({ chainId })))));
  await Promise.all(
    CHAINS.map(async ({ chainId, name }, i) => {
      const rpcUrl = anvils[i]?.rpcUrl as string;
      const nameFlag = name === `chain-${chainId}` ? [] : ['--name', name];
      const deploy = await runCli(['deploy', '--rpc', rpcUrl, ...nameFlag, '--solver', solver.address], {
        ...env,
        WEB3_PRIVATE_KEY: deployer.privateKey,
      });
      expect(deploy.code, deploy.stderr).toBe(0);
      const profile = await readProfile(dataDir, name);
      expect(profile.deployBlock).toBeGreaterThan(0);
      profiles[i] = profile;
      await fundDevNetwork({
        rpcUrl,
        chainId,
        token: profile.token,
        deals: profile.deals,
        accounts: [provider, jobCreator],
        amountLP: parseEther('100'),
        faucetPrivateKey: deployer.privateKey,
      });
    }),
  );
  services.push(
    ...(await Promise.all(
      CHAINS.map(({ name }) =>
        startCli(
          ['solver', '--network', name, '--port', '0', '--mediator', mediator.address],
          { ...env, WEB3_PRIVATE_KEY: solver.privateKey },
          /solver registered on-chain/,
        ),
      ),
    )),
  );
  services.push(
    await startCli(
      ['resource-provider', ...CHAINS.flatMap(({ name }) => ['--network', name])],
      { ...env, WEB3_PRIVATE_KEY: provider.privateKey },
      /resource provider started[\s\S]*resource provider started/,
    ),
  );
}, 120_000); // about 5 s alone; generous for a loaded machine running other suites beside it

afterAll(async () => {
  await Promise.all(services.map((service) => stopCli(service)));
  await Promise.all(anvils.map((anvil) => anvil.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

describe('two chains, one resource provider', () => {
  it('wrote a profile per chain, and each solver registered its URL on its chain', async () => {
    for (const [i, { chainId, name }] of CHAINS.entries()) {
      const profile = profiles[i] as NetworkProfile;
      expect(profile).toMatchObject({ name, chainId, rpcUrl: anvils[i]?.rpcUrl, solver: solver.address });
      const json = JSON.parse(await readFile(join(dataDir, 'networks', `${name}.json`), 'utf8'));
      expect(Object.keys(json).sort()).toEqual([
        'chainId',
        'deals',
        'deployBlock',
        'rpcUrl',
        'solver',
        'token',
      ]);
      const client = publicClientFor(profile.rpcUrl, chainId);
      expect(await solverUrlOf(client, profile, solver.address)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    // Same deployer, same nonces: the same addresses on both chains; only the chain id tells them apart.
    expect(profiles[0]?.deals).toBe(profiles[1]?.deals);
  });

  it('runs a cowsay job on each chain, and both settle and pay the provider', async () => {
    for (const [i, { chainId, name }] of CHAINS.entries()) {
      const profile = profiles[i] as NetworkProfile;
      const client = publicClientFor(profile.rpcUrl, chainId);
      const before = await escrowBalance(client, profile, provider.address);
      // One after the other: the two runs share the job creator's data dir.
      const run = await runCli(['run', 'cowsay:v0.0.1', '-i', 'Message=moo', '--network', name, '--json'], {
        LILYPAD_DATA_DIR: dataDir,
        WEB3_PRIVATE_KEY: jobCreator.privateKey,
      });
      expect(run.code, run.stderr).toBe(0);
      const outcome = JSON.parse(run.stdout) as {
        dealId: Hex;
        stdout: string;
        cost: string;
        network: string;
      };
      expect(outcome.network).toBe('configured');
      expect(outcome.stdout).toBe(MOO_STDOUT);
      expect((await dealStatus(client, profile, outcome.dealId)).state).toBe(DealState.Accepted);
      const after = await escrowBalance(client, profile, provider.address);
      expect(after.free).toBe(before.free + BigInt(outcome.cost));
      expect(after.locked).toBe(before.locked);
    }
  });

  it('names the known networks when asked for an unknown one', async () => {
    const run = await runCli(['run', 'cowsay:v0.0.1', '--network', 'gamma'], { LILYPAD_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no network profile named "gamma"');
    expect(run.stderr).toMatch(/known networks: alpha, chain-7002, devnet/);
  });
});
