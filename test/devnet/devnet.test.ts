/**
 * The devnet is wired for discovery and mediation: the solver's URL is on-chain and the mediator can be drawn; and
 * a client configured with a chain, a deal contract and a solver address (or a profile) finds the solver there.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { keccak256, parseEther, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/bridge/job-status.js';
import { lilypadJobsAbi } from '../../src/chain/artifacts/index.js';
import { publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import {
  agree,
  challenge,
  drawnMediators,
  Role,
  send,
  solverUrlOf,
  submitResult,
  userOf,
} from '../../src/chain/deals.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { depositFor, jobOf, jobsBalance } from '../../src/chain/jobs.js';
import { networkForRun } from '../../src/cli/network.js';
import { writeProfile } from '../../src/cli/network-profiles.js';
import { DEVNET_MEDIATOR_STAKE, type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { defaults } from '../../src/protocol/defaults.js';
import { type Deal, dealTypedData } from '../../src/protocol/eip712.js';

let dataDir: string;
let devnet: Devnet;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-devnet-'));
  devnet = await startDevnet({ dataDir, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await devnet?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('startDevnet', () => {
  it('registers the solver on-chain with its URL', async () => {
    const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
    expect(devnet.network.solver).toBe(devAccount('solver').address);
    expect(await solverUrlOf(client, devnet.network, devnet.network.solver)).toBe(devnet.network.solverUrl);
  });

  it('registers the mediator with a stake that covers the mediation fee', async () => {
    const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
    const mediator = await userOf(client, devnet.network, devAccount('mediator').address);
    expect(mediator.roles & Role.mediator).toBe(Role.mediator);
    expect(mediator.stake).toBe(DEVNET_MEDIATOR_STAKE);
    expect(mediator.stake).toBeGreaterThanOrEqual(defaults.mediationFee);
    expect(devnet.mediators).toEqual([devAccount('mediator').address]);
  });

  it('registers the resource provider with its role, and records the deployment block', async () => {
    const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
    const provider = await userOf(client, devnet.network, devAccount('resourceProvider').address);
    expect(provider.roles & Role.resourceProvider).toBe(Role.resourceProvider);
    const deployBlock = devnet.network.deployBlock ?? -1;
    expect(deployBlock).toBeGreaterThan(0);
    const code = (block: number) =>
      client.getCode({ address: devnet.network.deals, blockNumber: BigInt(block) });
    expect(await code(deployBlock - 1)).toBeUndefined();
    expect(await code(deployBlock)).toMatch(/^0x[0-9a-f]{2,}/);
  });

  it('lets a challenge draw the mediator', async () => {
    const { network } = devnet;
    const client = publicClientFor(network.rpcUrl, network.chainId);
    const jc = devAccount('jobCreator');
    const rp = devAccount('resourceProvider');
    const now = (await client.getBlock({ blockTag: 'latest' })).timestamp;
    const deal: Deal = {
      jobCreator: jc.address,
      resourceProvider: rp.address,
      solver: network.solver,
      mediators: devnet.mediators,
      mediatorsDrawn: 1,
      verdictsNeeded: 1,
      jobOffer: keccak256(toHex('devnet challenge: job offer')),
      resourceOffer: keccak256(toHex('devnet challenge: resource offer')),
      fixedPrice: parseEther('1'),
      pricePerInstruction: 0n,
      paymentCollateral: parseEther('10'),
      timeoutCollateral: parseEther('2'),
      resultsCollateralMultipleBps: 20_000,
      mediationFee: defaults.mediationFee,
      submitTimeout: 600n,
      judgeTimeout: 600n,
      mediateTimeout: 600n,
      expiry: now + 3600n,
    };
    const sign = (key: `0x${string}`) => privateKeyToAccount(key).signTypedData(dealTypedData(network, deal));
    const wallet = (key: `0x${string}`) => walletClientFor(network.rpcUrl, network.chainId, key);
    await agree(wallet(jc.privateKey), network, deal, await sign(jc.privateKey), await sign(rp.privateKey));
    await submitResult(wallet(rp.privateKey), network, deal, keccak256(toHex('a result')), 0n);
    await challenge(wallet(jc.privateKey), network, deal);
    expect(await drawnMediators(client, network, deal)).toEqual(devnet.mediators);
  });
});

describe("the devnet's bridge", () => {
  it('serves the jobs contract it deployed: a job for an unknown module fails back with its money', async () => {
    const { network } = devnet;
    const jobs = { ...network, jobs: network.jobs as `0x${string}` };
    const client = publicClientFor(network.rpcUrl, network.chainId);
    const deployer = walletClientFor(network.rpcUrl, network.chainId, devAccount('deployer').privateKey);
    expect(
      await client.readContract({ address: jobs.jobs, abi: lilypadJobsAbi, functionName: 'bridge' }),
    ).toBe(devnet.bridge?.address);
    await depositFor(deployer, jobs, deployer.account.address, parseEther('1'));
    await send(deployer, 'runJob', {
      address: jobs.jobs,
      abi: lilypadJobsAbi,
      functionName: 'runJob',
      args: ['no-such-module:v9', [], parseEther('1')],
    });
    const jobId = await client.readContract({
      address: jobs.jobs,
      abi: lilypadJobsAbi,
      functionName: 'jobCount',
    });
    await expect
      .poll(() => jobOf(client, jobs, jobId).then((j) => j.status), { timeout: 20_000 })
      .toBe(JobStatus.Failed);
    expect(await jobsBalance(client, jobs, deployer.account.address)).toBe(parseEther('1'));
  });
});

describe('finding the solver from the chain', () => {
  const variables = [
    'WEB3_PRIVATE_KEY',
    'WEB3_RPC_URL',
    'LILYPAD_DEALS_ADDRESS',
    'LILYPAD_SOLVER_ADDRESS',
    'LILYPAD_SOLVER_URL',
    'LILYPAD_JOBS_ADDRESS',
  ];
  const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));
  const logger = pino({ level: 'silent' });
  afterEach(() => {
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  const configure = (values: Record<string, string | undefined>) => {
    for (const name of variables) delete process.env[name];
    Object.assign(process.env, values);
  };

  it('uses WEB3_RPC_URL + LILYPAD_DEALS_ADDRESS + LILYPAD_SOLVER_ADDRESS, reading the URL on-chain', async () => {
    const { network } = devnet;
    configure({
      WEB3_RPC_URL: network.rpcUrl,
      LILYPAD_DEALS_ADDRESS: network.deals,
      LILYPAD_SOLVER_ADDRESS: network.solver,
      LILYPAD_JOBS_ADDRESS: network.jobs,
      WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey,
    });
    const run = await networkForRun({ dataDir, logger });
    expect(run.source).toBe('configured');
    // Without a profile the deployment block is not known: the solver reads from block 0.
    expect(run.network).toEqual({ ...network, deployBlock: undefined });
    expect(run.mediators).toEqual(devnet.mediators);
  });

  it('uses a profile that names the solver, and LILYPAD_SOLVER_URL overrides the URL', async () => {
    const { chainId, rpcUrl, token, deals, deployBlock, solver, jobs } = devnet.network;
    await writeProfile(
      dataDir,
      { name: 'local', chainId, rpcUrl, token, deals, deployBlock, solver, jobs },
      { overwrite: true },
    );
    configure({ WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey });
    expect((await networkForRun({ dataDir, logger, network: 'local' })).network).toEqual(devnet.network);

    configure({
      WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey,
      LILYPAD_SOLVER_URL: 'http://127.0.0.1:9',
    });
    await expect(networkForRun({ dataDir, logger, network: 'local' })).rejects.toThrow(
      'cannot reach the solver at http://127.0.0.1:9',
    );
  });

  it('says what is missing when the solver has no URL on-chain, or the profile is broken', async () => {
    configure({
      WEB3_RPC_URL: devnet.network.rpcUrl,
      LILYPAD_DEALS_ADDRESS: devnet.network.deals,
      LILYPAD_SOLVER_ADDRESS: devAccount('user9').address,
      WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey,
    });
    await expect(networkForRun({ dataDir, logger })).rejects.toThrow(/has no URL registered/);

    configure({ WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey });
    await mkdir(join(dataDir, 'networks'), { recursive: true });
    await writeFile(
      join(dataDir, 'networks', 'broken.json'),
      JSON.stringify({ chainId: 'one', rpcUrl: 'x' }),
    );
    const error = await networkForRun({ dataDir, logger, network: 'broken' }).catch((e: unknown) => e);
    expect(String((error as Error).message)).toContain('broken.json is invalid');
    expect((error as { details?: string }).details).toMatch(/chainId.*rpcUrl.*token.*deals/);
  });
});
