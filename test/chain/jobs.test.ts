/**
 * LilypadJobs on anvil: who may settle a job, with which deal, exactly once; the money of every end; and clients
 * whose callback reverts, burns its gas or re-enters, which must not block their own job, others or the bridge.
 */
import { createRequire } from 'node:module';
import { type Abi, type Address, getAddress, type Hex, parseEther, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/bridge/job-status.js';
import {
  lilypadCowsayAbi,
  lilypadCowsayBytecode,
  lilypadJobsAbi,
  lilypadTokenAbi,
} from '../../src/chain/artifacts/index.js';
import { accept, agree, submitResult } from '../../src/chain/deals.js';
import { deployJobs } from '../../src/chain/deploy.js';
import type { DevRole } from '../../src/chain/dev-accounts.js';
import {
  deliverResult,
  depositFor,
  jobFinishedEvents,
  jobOf,
  jobsBalance,
  reportFailure,
} from '../../src/chain/jobs.js';
import type { Deal } from '../../src/protocol/eip712.js';
import { startChain, type TestChain } from './setup.js';

/** Clients whose callback misbehaves on demand (the status is the enum's ABI type, uint8). */
const source = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
interface IJobs {
  function runJob(string calldata module, string[] calldata inputs, uint256 maxPrice) external returns (uint256);
  function cancel(uint256 jobId) external;
}
contract TestClient {
  IJobs public immutable jobs;
  uint8 public mode; // 0 stores, 1 reverts, 2 burns all its gas, 3 re-enters cancel, 4 asks for a new job
  uint256 public other;
  uint256 public calls;
  string public lastCID;
  uint8 public lastStatus;
  bool public reentered;
  constructor(IJobs jobs_) { jobs = jobs_; }
  function setMode(uint8 mode_, uint256 other_) external { mode = mode_; other = other_; }
  function ask(uint256 maxPrice) public returns (uint256) {
    string[] memory inputs = new string[](1);
    inputs[0] = "Message=hi";
    return jobs.runJob("cowsay:v0.0.1", inputs, maxPrice);
  }
  function onLilypadResult(uint256, string calldata resultCID, uint8 status) external {
    if (mode == 1) revert("client refuses");
    if (mode == 2) { while (true) {} }
    if (mode == 3) {
      (bool ok,) = address(jobs).call(abi.encodeCall(IJobs.cancel, (other)));
      reentered = ok;
    }
    if (mode == 4) other = ask(1 ether);
    calls++;
    lastCID = resultCID;
    lastStatus = status;
  }
}`;

type Compiled = { abi: Abi; evm: { bytecode: { object: string } } };
function compileTestClient(): Compiled {
  const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string };
  const output = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'TestClient.sol': { content: source } },
        settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
      }),
    ),
  ) as {
    contracts: Record<string, Record<string, Compiled>>;
    errors?: { severity: string; message: string }[];
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return output.contracts['TestClient.sol']?.TestClient as Compiled;
}

const MAX_PRICE = parseEther('3');
const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

let chain: TestChain;
let testClient: Compiled;
let network: TestChain['network'] & { jobs: Address };
const bridge = () => chain.wallet('user6');

beforeAll(async () => {
  chain = await startChain();
  testClient = compileTestClient();
  const jobs = await deployJobs(chain.deployer, chain.publicClient, {
    deals: chain.network.deals,
    bridge: chain.address('user6'),
  });
  network = { ...chain.network, jobs };
});
afterAll(async () => {
  await chain?.stop();
});

async function deploy(abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
  const hash = await chain.deployer.deployContract({ abi, bytecode, args });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress ?? zeroAddress);
}

async function call(address: Address, abi: Abi, functionName: string, args: readonly unknown[] = []) {
  const hash = await chain.deployer.writeContract({ address, abi, functionName, args, gas: 1_000_000n });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
  return receipt;
}
/** Waits for a transaction to be mined, so what follows reads its effects. */
const mined = async (hash: Promise<Hex>) =>
  chain.publicClient.waitForTransactionReceipt({ hash: await hash });
const read = (address: Address, abi: Abi, functionName: string) =>
  chain.publicClient.readContract({ address, abi, functionName }) as Promise<unknown>;

/** Dev accounts hold their LP in the deal contract's escrow: the faucet sends them some to spend here. */
async function giveTokens(role: DevRole, amount: bigint): Promise<void> {
  const hash = await chain.deployer.writeContract({
    address: network.token,
    abi: lilypadTokenAbi,
    functionName: 'transfer',
    args: [chain.address(role), amount],
  });
  await chain.publicClient.waitForTransactionReceipt({ hash });
}

/** A test client funded with `funds` in the jobs contract. */
async function newClient(funds = parseEther('10')): Promise<Address> {
  const client = await deploy(testClient.abi, `0x${testClient.evm.bytecode.object}`, [network.jobs]);
  await depositFor(chain.deployer, network, client, funds);
  return client;
}

/** The client asks for a job; returns its id. */
async function ask(client: Address, maxPrice = MAX_PRICE): Promise<bigint> {
  await call(client, testClient.abi, 'ask', [maxPrice]);
  return (await read(network.jobs, lilypadJobsAbi, 'jobCount')) as bigint;
}

/** A deal of the bridge's, run and accepted on-chain: cost 1 LP (the fixed price, no instructions). */
async function acceptedDeal(overrides: Partial<Deal> = {}): Promise<Deal> {
  const deal = await chain.makeDeal({
    jobCreator: chain.address('user6'),
    paymentCollateral: MAX_PRICE,
    ...overrides,
  });
  const [sigJC, sigRP] = await chain.signBoth(deal);
  await agree(chain.wallet('solver'), chain.network, deal, sigJC, sigRP);
  await submitResult(chain.wallet('resourceProvider'), chain.network, deal, '0x01', 0n);
  await accept(bridge(), chain.network, deal);
  return deal;
}

describe('LilypadJobs', () => {
  it('takes maxPrice from the balance, else from the allowance, and emits the job', async () => {
    const client = await newClient(parseEther('4'));
    const first = await ask(client);
    expect(await jobsBalance(chain.publicClient, network, client)).toBe(parseEther('1'));
    expect(await jobOf(chain.publicClient, network, first)).toMatchObject({
      client,
      status: JobStatus.Pending,
      maxPrice: MAX_PRICE,
    });
    // An account with no balance pays through its allowance.
    await giveTokens('user5', MAX_PRICE);
    const user = chain.wallet('user5');
    await mined(
      user.writeContract({
        address: network.token,
        abi: lilypadTokenAbi,
        functionName: 'approve',
        args: [network.jobs, MAX_PRICE],
      }),
    );
    await mined(
      user.writeContract({
        address: network.jobs,
        abi: lilypadJobsAbi,
        functionName: 'runJob',
        args: ['cowsay:v0.0.1', ['Message=moo'], MAX_PRICE],
      }),
    );
    const events = await chain.publicClient.getContractEvents({
      address: network.jobs,
      abi: lilypadJobsAbi,
      eventName: 'JobRequested',
      fromBlock: 0n,
      strict: true,
    });
    expect(events.map((e) => e.args)).toEqual([
      { jobId: first, client, module: 'cowsay:v0.0.1', inputs: ['Message=hi'], maxPrice: MAX_PRICE },
      {
        jobId: first + 1n,
        client: chain.address('user5'),
        module: 'cowsay:v0.0.1',
        inputs: ['Message=moo'],
        maxPrice: MAX_PRICE,
      },
    ]);
    // Neither a balance nor an allowance: refused.
    await expect(ask(await newClient(parseEther('1')))).rejects.toThrow(/ask reverted/);
  });

  it('a result settles the job once: cost to the bridge, the rest back, the CID to the client', async () => {
    const client = await newClient();
    const jobId = await ask(client);
    const deal = await acceptedDeal();
    const bridgeBefore = await jobsBalance(chain.publicClient, network, chain.address('user6'));
    await deliverResult(bridge(), network, jobId, deal, CID);
    expect(await read(client, testClient.abi, 'lastCID')).toBe(CID);
    expect(await read(client, testClient.abi, 'lastStatus')).toBe(JobStatus.Succeeded);
    expect(await jobsBalance(chain.publicClient, network, client)).toBe(parseEther('10') - parseEther('1'));
    expect(await jobsBalance(chain.publicClient, network, chain.address('user6'))).toBe(
      bridgeBefore + parseEther('1'),
    );
    const [finished, ...more] = await jobFinishedEvents(chain.publicClient, network, jobId);
    expect(more).toEqual([]);
    expect(finished).toMatchObject({ status: JobStatus.Succeeded, resultCID: CID, callbackOk: true });

    // No second callback, by either path; the deal cannot pay for another job either.
    await expect(deliverResult(bridge(), network, jobId, deal, CID)).rejects.toMatchObject({
      errorName: 'NotPending',
    });
    await expect(reportFailure(bridge(), network, jobId, JobStatus.NoMatch)).rejects.toMatchObject({
      errorName: 'NotPending',
    });
    const next = await ask(client);
    await expect(deliverResult(bridge(), network, next, deal, CID)).rejects.toMatchObject({
      errorName: 'DealAlreadyUsed',
    });
    expect(await read(client, testClient.abi, 'calls')).toBe(1n);
  });

  it('only the bridge settles, and only with an accepted deal of its own within maxPrice', async () => {
    const client = await newClient();
    const jobId = await ask(client);
    const deal = await acceptedDeal();
    await expect(deliverResult(chain.wallet('user5'), network, jobId, deal, CID)).rejects.toMatchObject({
      errorName: 'NotBridge',
    });
    await expect(
      reportFailure(chain.wallet('user5'), network, jobId, JobStatus.NoMatch),
    ).rejects.toMatchObject({
      errorName: 'NotBridge',
    });
    const othersDeal = await chain.makeDeal({ paymentCollateral: MAX_PRICE }); // the dev job creator's
    const [sigJC, sigRP] = await chain.signBoth(othersDeal);
    await agree(chain.wallet('solver'), chain.network, othersDeal, sigJC, sigRP);
    await expect(deliverResult(bridge(), network, jobId, othersDeal, CID)).rejects.toMatchObject({
      errorName: 'NotBridgeDeal',
    });
    const dear = await acceptedDeal({ paymentCollateral: MAX_PRICE + 1n });
    await expect(deliverResult(bridge(), network, jobId, dear, CID)).rejects.toMatchObject({
      errorName: 'OverMaxPrice',
    });
    const running = await chain.makeDeal({
      jobCreator: chain.address('user6'),
      paymentCollateral: MAX_PRICE,
    });
    const sigs = await chain.signBoth(running);
    await agree(chain.wallet('solver'), chain.network, running, ...sigs);
    await expect(deliverResult(bridge(), network, jobId, running, CID)).rejects.toMatchObject({
      errorName: 'DealNotAccepted',
    });
    await deliverResult(bridge(), network, jobId, deal, CID);
    expect(await jobOf(chain.publicClient, network, jobId)).toMatchObject({ status: JobStatus.Succeeded });
  });

  it('a failure refunds all of maxPrice and calls back once with the status', async () => {
    const client = await newClient();
    const jobId = await ask(client);
    await expect(reportFailure(bridge(), network, jobId, JobStatus.Succeeded as never)).rejects.toMatchObject(
      {
        errorName: 'NotAFailure',
      },
    );
    await reportFailure(bridge(), network, jobId, JobStatus.TimedOut);
    expect(await jobsBalance(chain.publicClient, network, client)).toBe(parseEther('10'));
    expect(await read(client, testClient.abi, 'lastStatus')).toBe(JobStatus.TimedOut);
    expect(await read(client, testClient.abi, 'lastCID')).toBe('');
    await expect(reportFailure(bridge(), network, jobId, JobStatus.NoMatch)).rejects.toMatchObject({
      errorName: 'NotPending',
    });
  });

  it('a reverting, gas-burning or re-entering callback ends its job and blocks nobody', async () => {
    const victims: Address[] = [];
    for (const mode of [1, 2, 3]) {
      const client = await newClient();
      const jobId = await ask(client);
      const other = await ask(client);
      await call(client, testClient.abi, 'setMode', [mode, other]);
      const receipt = await deliverResult(bridge(), network, jobId, await acceptedDeal(), CID);
      // The callback got its fixed gas limit, not the transaction's: a burner costs at most that.
      expect(receipt.gasUsed).toBeLessThan(500_000n);
      const [finished] = await jobFinishedEvents(chain.publicClient, network, jobId);
      expect(finished?.callbackOk).toBe(mode === 3); // the re-entry itself failed, the callback did not
      expect(await jobOf(chain.publicClient, network, jobId)).toMatchObject({ status: JobStatus.Succeeded });
      expect(await jobsBalance(chain.publicClient, network, client)).toBe(
        parseEther('10') - MAX_PRICE - parseEther('1'),
      );
      if (mode === 3) {
        expect(await read(client, testClient.abi, 'reentered')).toBe(false);
        expect(await jobOf(chain.publicClient, network, other)).toMatchObject({ status: JobStatus.Pending });
      }
      victims.push(client);
    }
    // The bridge goes on with other clients' jobs.
    const good = await newClient();
    const jobId = await ask(good);
    await reportFailure(bridge(), network, jobId, JobStatus.NoMatch);
    expect(await read(good, testClient.abi, 'calls')).toBe(1n);
  });

  it('a client may ask for its next job from inside the callback', async () => {
    const client = await newClient();
    const jobId = await ask(client);
    await call(client, testClient.abi, 'setMode', [4, 0n]);
    await reportFailure(bridge(), network, jobId, JobStatus.NoMatch);
    const next = (await read(client, testClient.abi, 'other')) as bigint;
    expect(next).toBe(jobId + 1n);
    expect(await jobOf(chain.publicClient, network, next)).toMatchObject({
      client,
      status: JobStatus.Pending,
    });
  });

  it('a transaction too short of gas for the callback is refused, so the bridge cannot starve a client', async () => {
    const client = await newClient();
    const jobId = await ask(client);
    const hash = await bridge().writeContract({
      address: network.jobs,
      abi: lilypadJobsAbi,
      functionName: 'reportFailure',
      args: [jobId, JobStatus.NoMatch],
      gas: 150_000n,
    });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('reverted');
    expect(await jobOf(chain.publicClient, network, jobId)).toMatchObject({ status: JobStatus.Pending });
    await reportFailure(bridge(), network, jobId, JobStatus.NoMatch);
    expect(await read(client, testClient.abi, 'calls')).toBe(1n);
  });

  it('the client cancels a job the bridge left unfinished past the deadline, and withdraws', async () => {
    const jobId = await (async () => {
      const user = chain.wallet('user7');
      await giveTokens('user7', MAX_PRICE);
      await depositFor(user, network, chain.address('user7'), MAX_PRICE);
      await mined(
        user.writeContract({
          address: network.jobs,
          abi: lilypadJobsAbi,
          functionName: 'runJob',
          args: ['cowsay:v0.0.1', ['Message=moo'], MAX_PRICE],
        }),
      );
      return (await read(network.jobs, lilypadJobsAbi, 'jobCount')) as bigint;
    })();
    const cancel = async (role: 'user7' | 'user5') => {
      const hash = await chain.wallet(role).writeContract({
        address: network.jobs,
        abi: lilypadJobsAbi,
        functionName: 'cancel',
        args: [jobId],
      });
      await chain.publicClient.waitForTransactionReceipt({ hash });
    };
    await expect(cancel('user7')).rejects.toThrow(/TooEarly/);
    await chain.advance(24n * 3600n + 1n);
    await expect(cancel('user5')).rejects.toThrow(/NotClient/);
    await cancel('user7');
    expect(await jobOf(chain.publicClient, network, jobId)).toMatchObject({ status: JobStatus.Cancelled });
    await expect(reportFailure(bridge(), network, jobId, JobStatus.NoMatch)).rejects.toMatchObject({
      errorName: 'NotPending',
    });
    expect(await jobsBalance(chain.publicClient, network, chain.address('user7'))).toBe(MAX_PRICE);
    await mined(
      chain.wallet('user7').writeContract({
        address: network.jobs,
        abi: lilypadJobsAbi,
        functionName: 'withdraw',
        args: [MAX_PRICE],
      }),
    );
    expect(await jobsBalance(chain.publicClient, network, chain.address('user7'))).toBe(0n);
  });

  it('the example cowsay client stores the CID of its result', async () => {
    const cowsay = await deploy(lilypadCowsayAbi, lilypadCowsayBytecode, [network.jobs, MAX_PRICE]);
    await depositFor(chain.deployer, network, cowsay, MAX_PRICE);
    await call(cowsay, lilypadCowsayAbi, 'runCowsay', ['moo']);
    const jobId = (await read(network.jobs, lilypadJobsAbi, 'jobCount')) as bigint;
    const [request] = await chain.publicClient.getContractEvents({
      address: network.jobs,
      abi: lilypadJobsAbi,
      eventName: 'JobRequested',
      args: { jobId },
      fromBlock: 0n,
      strict: true,
    });
    expect(request?.args.inputs).toEqual(['Message=moo']);
    await deliverResult(bridge(), network, jobId, await acceptedDeal(), CID);
    const result = await chain.publicClient.readContract({
      address: cowsay,
      abi: lilypadCowsayAbi,
      functionName: 'results',
      args: [jobId],
    });
    expect(result).toBe(CID);
    await expect(
      chain.wallet('user5').writeContract({
        address: cowsay,
        abi: lilypadCowsayAbi,
        functionName: 'onLilypadResult',
        args: [jobId, 'bafyfake', JobStatus.Succeeded],
      }),
    ).rejects.toThrow(/NotJobsContract/);
  });
});
