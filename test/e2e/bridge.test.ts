/**
 * Jobs asked for by a smart contract, end to end: the example cowsay contract on a devnet, `lilypad bridge` as a
 * real process (the devnet's own bridge is off), the callback, and the cow behind the stored CID fetched and
 * verified from the directory. Then a job nobody takes (refunded, failure callback), and a bridge killed with
 * SIGKILL between the job and the callback, which on restart calls back exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { type Address, createTestClient, getAddress, http, parseEther, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/bridge/job-status.js';
import { lilypadCowsayAbi, lilypadCowsayBytecode } from '../../src/chain/artifacts/index.js';
import { chainFor, publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { depositFor, jobFinishedEvents, jobsBalance } from '../../src/chain/jobs.js';
import { DEVNET_BRIDGE_ROLE, type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { downloadFolder } from '../../src/storage/verified-fetch.js';
import { startCli, stopCli } from './cli.js';

const FUNDS = parseEther('10');

let dir: string;
let devnet: Devnet;
let network: Devnet['network'] & { jobs: Address };
let bridge: ChildProcess | undefined;
const client = () => publicClientFor(network.rpcUrl, network.chainId);
const wallet = (role: 'deployer' | 'user5') =>
  walletClientFor(network.rpcUrl, network.chainId, devAccount(role).privateKey);

const startBridge = (matchTimeout: number) =>
  startCli(
    ['bridge', '--poll-interval', '100', '--match-timeout', String(matchTimeout)],
    {
      WEB3_PRIVATE_KEY: devAccount(DEVNET_BRIDGE_ROLE).privateKey,
      WEB3_RPC_URL: network.rpcUrl,
      LILYPAD_DEALS_ADDRESS: network.deals,
      LILYPAD_SOLVER_ADDRESS: network.solver,
      LILYPAD_JOBS_ADDRESS: network.jobs,
      LILYPAD_DATA_DIR: join(dir, 'cli'),
      LILYPAD_NETWORK: '',
    },
    /bridge started/,
  );
const bridgeDb = () => join(dir, 'cli', 'bridge', `chain-${network.chainId}`, 'bridge.sqlite');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-bridge-'));
  devnet = await startDevnet({
    dataDir: join(dir, 'devnet'),
    logger: pino({ level: 'silent' }),
    bridge: false,
  });
  network = devnet.network as typeof network;
  bridge = await startBridge(10); // a match takes well under a second; the NoMatch test waits this long
});
afterAll(async () => {
  if (bridge) await stopCli(bridge);
  await devnet?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A cowsay contract that may spend `maxPrice` a job, funded with FUNDS in the jobs contract. */
async function deployCowsay(maxPrice: bigint): Promise<Address> {
  const hash = await wallet('deployer').deployContract({
    abi: lilypadCowsayAbi,
    bytecode: lilypadCowsayBytecode,
    args: [network.jobs, maxPrice],
  });
  const receipt = await client().waitForTransactionReceipt({ hash });
  const cowsay = getAddress(receipt.contractAddress ?? zeroAddress);
  await depositFor(wallet('deployer'), network, cowsay, FUNDS);
  return cowsay;
}

/** Anyone asks the contract for a cow; returns the job id from its event. */
async function runCowsay(cowsay: Address, message: string, options: { mine?: () => Promise<void> } = {}) {
  const hash = await wallet('user5').writeContract({
    address: cowsay,
    abi: lilypadCowsayAbi,
    functionName: 'runCowsay',
    args: [message],
    gas: 500_000n,
  });
  await options.mine?.();
  const receipt = await client().waitForTransactionReceipt({ hash });
  const [event] = await client().getContractEvents({
    address: cowsay,
    abi: lilypadCowsayAbi,
    eventName: 'CowsayRequested',
    blockHash: receipt.blockHash,
    strict: true,
  });
  if (!event) throw new Error('no CowsayRequested event');
  return event.args.jobId;
}

/** The contract's status of the job once it is no longer pending. */
async function finished(cowsay: Address, jobId: bigint, timeoutMs = 60_000): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await client().readContract({
      address: cowsay,
      abi: lilypadCowsayAbi,
      functionName: 'statuses',
      args: [jobId],
    });
    if (status !== JobStatus.Pending) return status as JobStatus;
    await sleep(100);
  }
  throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms`);
}

/** The result folder's stdout, fetched from the directory with every block checked against the CID. */
async function verifiedStdout(cowsay: Address, jobId: bigint): Promise<string> {
  const cid = await client().readContract({
    address: cowsay,
    abi: lilypadCowsayAbi,
    functionName: 'results',
    args: [jobId],
  });
  const out = join(dir, `result-${jobId}`);
  await downloadFolder(network.solverUrl, cid, memoryBlockstore(), out);
  return readFile(join(out, 'stdout'), 'utf8');
}

describe('a smart contract asks for cowsay through the bridge', () => {
  it('gets the CID of a verified cow in its callback, and pays only the cost', async () => {
    const cowsay = await deployCowsay(parseEther('2'));
    const jobId = await runCowsay(cowsay, 'moo from a contract');
    expect(await finished(cowsay, jobId)).toBe(JobStatus.Succeeded);
    const stdout = await verifiedStdout(cowsay, jobId);
    expect(stdout).toContain('< moo from a contract >');
    expect(stdout).toContain('(oo)');
    const [event, ...more] = await jobFinishedEvents(client(), network, jobId);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ status: JobStatus.Succeeded, callbackOk: true });
    expect(event?.cost).toBe(parseEther('1')); // the devnet provider's fixed price
    expect(await jobsBalance(client(), network, cowsay)).toBe(FUNDS - parseEther('1'));
  });

  it('a job no provider takes ends with the NoMatch callback and all its money back', async () => {
    const cheap = await deployCowsay(parseEther('0.5')); // below the provider's price of 1 LP
    const jobId = await runCowsay(cheap, 'too cheap');
    expect(await jobsBalance(client(), network, cheap)).toBe(FUNDS - parseEther('0.5'));
    expect(await finished(cheap, jobId)).toBe(JobStatus.NoMatch);
    expect(
      await client().readContract({
        address: cheap,
        abi: lilypadCowsayAbi,
        functionName: 'results',
        args: [jobId],
      }),
    ).toBe('');
    expect(await jobsBalance(client(), network, cheap)).toBe(FUNDS);
    expect(await jobFinishedEvents(client(), network, jobId)).toHaveLength(1);
  });

  it('a bridge killed between the job and the callback calls back exactly once after its restart', async () => {
    if (bridge) await stopCli(bridge); // a clean restart first: the jobs above must not be run again
    bridge = await startBridge(120);
    const cowsay = await deployCowsay(parseEther('2'));
    const test = createTestClient({
      mode: 'anvil',
      chain: chainFor(network.chainId, network.rpcUrl),
      transport: http(network.rpcUrl),
    });
    // Nothing is mined while automine is off: the bridge gets the job, is matched and signs the deal, and the
    // solver's `agree` waits in the mempool. The bridge dies there.
    await test.setAutomine(false);
    try {
      const jobId = await runCowsay(cowsay, 'moo after a crash', { mine: () => test.mine({ blocks: 1 }) });
      const db = new Database(bridgeDb(), { readonly: true });
      const step = () =>
        (
          db.prepare('SELECT step FROM jobs WHERE job_id = ?').get(String(jobId)) as
            | { step: string }
            | undefined
        )?.step;
      const deadline = Date.now() + 30_000;
      while (!(step() === 'dealt' && (await test.getTxpoolStatus()).pending > 0)) {
        if (Date.now() > deadline) throw new Error(`the bridge did not reach the deal (step ${step()})`);
        await sleep(50);
      }
      db.close();
      const killed = bridge;
      await new Promise<void>((resolve) => {
        killed.once('exit', () => resolve());
        killed.kill('SIGKILL');
      });
      bridge = undefined;
      expect(await jobFinishedEvents(client(), network, jobId)).toEqual([]);
      await test.setAutomine(true);
      await test.mine({ blocks: 1 });

      bridge = await startBridge(120);
      expect(await finished(cowsay, jobId)).toBe(JobStatus.Succeeded);
      expect(await verifiedStdout(cowsay, jobId)).toContain('< moo after a crash >');
      await sleep(1000); // room for a second callback, which must not come
      const events = await jobFinishedEvents(client(), network, jobId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: JobStatus.Succeeded, callbackOk: true });
      // The jobs of the earlier tests were not run again by either restart.
      for (const earlier of [jobId - 1n, jobId - 2n]) {
        expect(await jobFinishedEvents(client(), network, earlier)).toHaveLength(1);
      }
    } finally {
      await test.setAutomine(true);
    }
  });
});
