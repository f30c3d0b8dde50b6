/**
 * What the chain says happened, read from the deal contract's events and the transactions that agreed each deal:
 * every deal with its terms and state, and the escrow invariant
 * `token.balanceOf(deals) == Σ free + Σ locked` over every account the contract ever credited.
 */
import { type Address, decodeFunctionData, type Hex } from 'viem';
import { lilypadDealsAbi, lilypadTokenAbi } from '../../src/chain/artifacts/index.js';
import type { LilypadPublicClient } from '../../src/chain/clients.js';
import { dealStatus, escrowBalance } from '../../src/chain/deals.js';
import { DealState } from '../../src/protocol/deal-states.js';
import { type Deal, dealId } from '../../src/protocol/eip712.js';
import type { NetworkConfig } from '../../src/protocol/network.js';

export type AuditedDeal = { id: Hex; deal: Deal; state: DealState; resultCID?: Hex };

/** Every deal agreed on-chain, with the terms decoded from its `agree` / `agreeMany` call. */
export async function dealsOnChain(
  client: LilypadPublicClient,
  network: NetworkConfig,
): Promise<AuditedDeal[]> {
  const agreed = await client.getContractEvents({
    address: network.deals,
    abi: lilypadDealsAbi,
    eventName: 'DealStateChanged',
    args: {},
    fromBlock: 0n,
    strict: true,
  });
  const submitted = await client.getContractEvents({
    address: network.deals,
    abi: lilypadDealsAbi,
    eventName: 'ResultsSubmitted',
    fromBlock: 0n,
    strict: true,
  });
  const terms = new Map<Hex, Deal>();
  const transactions = new Set(
    agreed.filter((e) => e.args.state === DealState.Agreed).map((e) => e.transactionHash),
  );
  for (const hash of transactions) {
    const { input } = await client.getTransaction({ hash });
    const call = decodeFunctionData({ abi: lilypadDealsAbi, data: input });
    const deals =
      call.functionName === 'agree'
        ? [call.args[0]]
        : call.functionName === 'agreeMany'
          ? call.args[0].map((signed) => signed.deal)
          : [];
    for (const onChain of deals) {
      const deal: Deal = { ...onChain, mediators: [...onChain.mediators] };
      terms.set(dealId(network, deal), deal);
    }
  }
  const ids = [...new Set(agreed.filter((e) => e.args.state === DealState.Agreed).map((e) => e.args.dealId))];
  return Promise.all(
    ids.map(async (id) => {
      const deal = terms.get(id);
      if (!deal) throw new Error(`deal ${id} was agreed by a call that does not carry its terms`);
      const { state } = await dealStatus(client, network, id);
      const resultCID = submitted.find((e) => e.args.dealId === id)?.args.resultCID;
      return { id, deal, state, ...(resultCID ? { resultCID } : {}) };
    }),
  );
}

/** The contract's token balance and the sum of every escrow balance (free + locked) it keeps. */
export async function escrowTotals(
  client: LilypadPublicClient,
  network: NetworkConfig,
  deals: AuditedDeal[],
): Promise<{ held: bigint; owed: bigint; accounts: number }> {
  const deposits = await client.getContractEvents({
    address: network.deals,
    abi: lilypadDealsAbi,
    eventName: 'Deposited',
    fromBlock: 0n,
    strict: true,
  });
  const accounts = new Set<Address>(deposits.map((e) => e.args.account));
  for (const { deal } of deals) {
    for (const party of [deal.jobCreator, deal.resourceProvider, deal.solver, ...deal.mediators])
      accounts.add(party);
  }
  const held = await client.readContract({
    address: network.token,
    abi: lilypadTokenAbi,
    functionName: 'balanceOf',
    args: [network.deals],
  });
  let owed = 0n;
  for (const account of accounts) {
    const { free, locked } = await escrowBalance(client, network, account);
    owed += free + locked;
  }
  return { held, owed, accounts: accounts.size };
}
