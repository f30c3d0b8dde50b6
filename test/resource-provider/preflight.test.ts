/**
 * `lilypad resource-provider --check` against a devnet: an account with no ETH and no LP fails, line by line
 * with the fix for each failure and a non-zero exit code; a funded account passes.
 */
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { expect, it } from 'vitest';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { runCli } from '../e2e/cli.js';
import { useDevnet } from './fixtures/devnet.js';

const shared = useDevnet('preflight');

const check = (privateKey: string) => {
  const { devnet, dataDir } = shared;
  return runCli(
    [
      'resource-provider',
      '--check',
      '--slots',
      '2',
      '--cpu',
      '500',
      '--ram',
      '256',
      '--disk',
      '10',
      '--machine-cpus',
      '2',
    ],
    {
      WEB3_RPC_URL: devnet.network.rpcUrl,
      LILYPAD_SOLVER_URL: devnet.network.solverUrl,
      WEB3_PRIVATE_KEY: privateKey,
      LILYPAD_DATA_DIR: join(dataDir, 'cli'),
    },
  );
};

it('fails with the fix for each failure when the key holds nothing', async () => {
  const { code, stdout } = await check(generatePrivateKey());
  expect(code).toBe(1);
  expect(stdout).toMatch(/^✓ chain reachable: chain \d+/m);
  expect(stdout).toMatch(/^✗ key funded: 0x[0-9a-fA-F]{40} holds 0 ETH/m);
  expect(stdout).toMatch(/^ {4}fix: send ETH for gas to 0x/m);
  expect(stdout).toMatch(/^✗ deposit: 0 LP free in escrow and 0 LP in the wallet; 2 slot\(s\) need 4 LP/m);
  expect(stdout).toMatch(/^ {4}fix: get 4 LP more into 0x/m);
  expect(stdout).toMatch(/^✓ solver reachable/m);
  expect(stdout).toMatch(/^✓ WASM executor/m);
  expect(stdout).toMatch(
    /^✓ capacity: 2 slot\(s\) asked; the machine fits 4 slot\(s\), limited by 2000 milli-CPU/m,
  );
  expect(stdout).toContain('Some checks failed');
}, 60_000);

it('passes for a funded account on a machine that fits its slots', async () => {
  const { code, stdout } = await check(devAccount('user7').privateKey);
  expect(stdout).not.toContain('✗');
  expect(stdout).toMatch(/^✓ key funded/m);
  expect(stdout).toMatch(/^✓ deposit: 1000 LP free in escrow .* need 4 LP of collateral$/m);
  expect(stdout).toMatch(/^✓ Docker executor: daemon at /m);
  expect(stdout).toMatch(/^✓ disk space/m);
  expect(stdout).toContain('All checks passed.');
  expect(code).toBe(0);
}, 60_000);
