/**
 * Follows a deal on-chain to its end for a job creator, and calls the timeout a party's silence allows:
 * `timeoutSubmit` when the provider misses its deadline, `timeoutMediate` when the mediators miss theirs.
 * Deadlines are read against the chain's clock (the latest block), never this machine's.
 */
import type { Hex } from 'viem';
import { lilypadDealsAbi } from '../chain/artifacts/index.js';
import type { LilypadPublicClient, LilypadWalletClient } from '../chain/clients.js';
import {
  ChainCallError,
  type DealStatus,
  type DealsNetwork,
  dealStatus,
  mediationStatus,
  timeoutMediate,
  timeoutSubmit,
} from '../chain/deals.js';
import { DealState, isFinal } from '../protocol/deal-states.js';
import type { Deal } from '../protocol/eip712.js';
import { resultsCollateral } from '../protocol/pricing.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type FollowOptions = {
  client: LilypadPublicClient;
  wallet: LilypadWalletClient;
  network: DealsNetwork;
  deal: Deal;
  dealId: Hex;
  pollMs: number;
  signal?: AbortSignal;
  /** Stop following once the deal has left this state (and is not final): `Agreed` to watch the submit deadline. */
  whileIn?: DealState;
};

/** The timeout this state allows once its deadline has passed, if any. */
async function dueTimeout(options: FollowOptions, status: DealStatus, now: number) {
  const { client, network, deal, dealId } = options;
  if (status.state === DealState.Agreed) {
    return now > status.agreedAt + Number(deal.submitTimeout) ? timeoutSubmit : undefined;
  }
  if (status.state === DealState.Challenged) {
    const { challengedAt } = await mediationStatus(client, network, dealId);
    return now > challengedAt + Number(deal.mediateTimeout) ? timeoutMediate : undefined;
  }
  return undefined;
}

/**
 * Polls until the deal is final (or, with `whileIn`, has left that state), sending a due timeout itself.
 * Returns the state it ended in and the hash of the timeout transaction this call sent, if it sent one.
 */
export async function followDeal(options: FollowOptions): Promise<{ state: DealState; timeoutTx?: Hex }> {
  const { client, wallet, network, deal, dealId } = options;
  let timeoutTx: Hex | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    // Read together: one round trip per poll.
    const [status, { timestamp }] = await Promise.all([
      dealStatus(client, network, dealId),
      client.getBlock({ blockTag: 'latest' }),
    ]);
    const { state } = status;
    if (isFinal(state) || (options.whileIn !== undefined && state !== options.whileIn))
      return { state, timeoutTx };
    const timeout = await dueTimeout(options, status, Number(timestamp));
    if (timeout) {
      try {
        timeoutTx = (await timeout(wallet, network, deal)).hash;
      } catch (error) {
        // Someone else settled it first: the next read shows how.
        if (!(error instanceof ChainCallError && error.errorName === 'WrongState')) throw error;
      }
      continue;
    }
    await sleep(options.pollMs);
  }
}

/** What a settled deal meant for the job creator, in LP: what it paid and what it received on top of refunds. */
export type JobCreatorMoney = { paid: bigint; received: bigint; summary: string };

/** An accepted result: the job creator paid its cost. */
export const acceptedMoney = (cost: bigint): JobCreatorMoney => ({
  paid: cost,
  received: 0n,
  summary: 'paid the cost',
});

export async function jobCreatorMoney(
  client: LilypadPublicClient,
  network: DealsNetwork,
  deal: Deal,
  dealId: Hex,
  state: DealState,
): Promise<JobCreatorMoney> {
  const { cost } = await dealStatus(client, network, dealId);
  const fee = deal.mediationFee;
  switch (state) {
    case DealState.Accepted:
      return acceptedMoney(cost);
    case DealState.MediationAccepted:
      return {
        paid: cost + fee,
        received: 0n,
        summary: 'the result was correct: paid the cost and the mediation fee',
      };
    case DealState.MediationRejected: {
      const compensation = resultsCollateral(deal, cost) - fee;
      return {
        paid: 0n,
        received: compensation,
        summary:
          "the result was wrong: payment and fee refunded, the provider's results collateral paid the mediators " +
          'and compensated you',
      };
    }
    case DealState.TimedOutMediate: {
      const slashes = await client.getContractEvents({
        address: network.deals,
        abi: lilypadDealsAbi,
        eventName: 'MediatorSlashed',
        args: { dealId },
        fromBlock: 0n,
      });
      const slashed = slashes.reduce((sum, log) => sum + (log.args.amount ?? 0n), 0n);
      return {
        paid: 0n,
        received: slashed - slashed / 2n,
        summary: "no verdict in time: everything refunded, and your share of the silent mediators' stake",
      };
    }
    case DealState.TimedOutSubmit:
      return {
        paid: 0n,
        received: deal.timeoutCollateral,
        summary: "no result in time: payment refunded, and the provider's timeout collateral",
      };
    default:
      return { paid: 0n, received: 0n, summary: `the deal is ${state}, not settled` };
  }
}
