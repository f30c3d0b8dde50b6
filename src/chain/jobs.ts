/**
 * Typed calls to the jobs contract (`contracts/LilypadJobs.sol`): contracts ask for jobs, the bridge settles them.
 * Transactions go through `send` of deals.ts: checked by a gas estimate first, refusals named.
 */
import type { Abi, Account, Address, Chain, Client, Hex, Transport, WalletClient } from 'viem';
import { getContractEvents, readContract } from 'viem/actions';
import type { FailureStatus, JobStatus } from '../bridge/job-status.js';
import type { Deal } from '../protocol/eip712.js';
import { lilypadJobsAbi, lilypadTokenAbi } from './artifacts/index.js';
import { send, type TxResult } from './deals.js';

type AnyWallet = WalletClient<Transport, Chain | undefined, Account | undefined>;
type AnyClient = Client<Transport, Chain | undefined>;

/** The jobs contract of a network. */
export type JobsNetwork = { jobs: Address };

// The token's errors surface through deposits and runJob, so they are decoded too.
const jobsAndTokenErrors = [
  ...lilypadJobsAbi,
  ...lilypadTokenAbi.filter((item) => item.type === 'error'),
] as const satisfies Abi;

const jobsCall = (jobs: Address, functionName: string, args: readonly unknown[]) => ({
  address: jobs,
  abi: jobsAndTokenErrors,
  functionName,
  args,
});

/** A job as the jobs contract emitted it (`JobRequested`). */
export type JobRequest = {
  jobId: bigint;
  client: Address;
  module: string;
  inputs: readonly string[];
  maxPrice: bigint;
  blockNumber: bigint;
};

/** The `JobRequested` events of blocks `fromBlock..toBlock`, in log order. */
export async function jobRequests(
  client: AnyClient,
  network: JobsNetwork,
  fromBlock: bigint,
  toBlock: bigint,
): Promise<JobRequest[]> {
  const logs = await getContractEvents(client, {
    address: network.jobs,
    abi: lilypadJobsAbi,
    eventName: 'JobRequested',
    fromBlock,
    toBlock,
    strict: true,
  });
  return logs.map((log) => ({ ...log.args, blockNumber: log.blockNumber }));
}

export type OnChainJob = { client: Address; requestedAt: number; status: JobStatus; maxPrice: bigint };

export async function jobOf(client: AnyClient, network: JobsNetwork, jobId: bigint): Promise<OnChainJob> {
  const [owner, requestedAt, status, maxPrice] = await readContract(client, {
    address: network.jobs,
    abi: lilypadJobsAbi,
    functionName: 'jobs',
    args: [jobId],
  });
  return { client: owner, requestedAt, status: status as JobStatus, maxPrice };
}

/** An account's balance in the jobs contract. */
export function jobsBalance(client: AnyClient, network: JobsNetwork, account: Address): Promise<bigint> {
  return readContract(client, {
    address: network.jobs,
    abi: lilypadJobsAbi,
    functionName: 'balanceOf',
    args: [account],
  });
}

/** Pays `amount` LP from the sender's wallet into `account`'s balance (approving the jobs contract first). */
export async function depositFor(
  wallet: AnyWallet,
  network: JobsNetwork & { token: Address },
  account: Address,
  amount: bigint,
): Promise<TxResult> {
  await send(wallet, 'approve', {
    address: network.token,
    abi: lilypadTokenAbi,
    functionName: 'approve',
    args: [network.jobs, amount],
  });
  return send(wallet, 'depositFor', jobsCall(network.jobs, 'depositFor', [account, amount]));
}

/** The bridge settles a job with the accepted deal it ran it in, and the client is called back with the CID. */
export function deliverResult(
  wallet: AnyWallet,
  network: JobsNetwork,
  jobId: bigint,
  deal: Deal,
  resultCID: string,
): Promise<TxResult> {
  return send(wallet, 'deliverResult', jobsCall(network.jobs, 'deliverResult', [jobId, deal, resultCID]));
}

/** The bridge reports a job that ended without a result; the client gets its money back and a callback. */
export function reportFailure(
  wallet: AnyWallet,
  network: JobsNetwork,
  jobId: bigint,
  status: FailureStatus,
): Promise<TxResult> {
  return send(wallet, 'reportFailure', jobsCall(network.jobs, 'reportFailure', [jobId, status]));
}

/** The `JobFinished` events of a job: one once it has finished (the contract allows no second). */
export async function jobFinishedEvents(
  client: AnyClient,
  network: JobsNetwork,
  jobId: bigint,
): Promise<{ status: JobStatus; resultCID: string; dealId: Hex; cost: bigint; callbackOk: boolean }[]> {
  const logs = await getContractEvents(client, {
    address: network.jobs,
    abi: lilypadJobsAbi,
    eventName: 'JobFinished',
    args: { jobId },
    fromBlock: 0n,
    strict: true,
  });
  return logs.map(({ args }) => ({
    status: args.status as JobStatus,
    resultCID: args.resultCID,
    dealId: args.dealId,
    cost: args.cost,
    callbackOk: args.callbackOk,
  }));
}
