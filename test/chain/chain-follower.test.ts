/**
 * The chain follower reads the deal contract's events from its deployment block on a first start (not from block
 * 0), and from the block after its cursor once it has one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainFollower, type DealLog } from '../../src/chain/chain-follower.js';
import type { LilypadPublicClient } from '../../src/chain/clients.js';
import { startChain } from './setup.js';

let chain: Awaited<ReturnType<typeof startChain>>;

beforeAll(async () => {
  chain = await startChain();
});

afterAll(async () => {
  await chain?.stop();
});

/** The public client, with every `getLogs` range it is asked for recorded. */
function recordingClient(ranges: { fromBlock: bigint; toBlock: bigint }[]): LilypadPublicClient {
  const client = chain.publicClient;
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key !== 'getLogs') return Reflect.get(target, key, receiver);
      return (args: Parameters<typeof client.getLogs>[0] & { fromBlock: bigint; toBlock: bigint }) => {
        ranges.push({ fromBlock: args.fromBlock, toBlock: args.toBlock });
        return target.getLogs(args);
      };
    },
  });
}

describe('ChainFollower', () => {
  it('starts at the deployment block without a cursor, and after the cursor with one', async () => {
    const { deployBlock, deals } = chain.network;
    expect(deployBlock).toBeGreaterThan(0);
    const ranges: { fromBlock: bigint; toBlock: bigint }[] = [];
    let cursor: bigint | undefined;
    const applied: DealLog[] = [];
    const follower = new ChainFollower({
      client: recordingClient(ranges),
      address: deals,
      intervalMs: 60_000,
      cursor: () => cursor,
      startBlock: BigInt(deployBlock),
      apply: (logs, toBlock) => {
        applied.push(...logs);
        cursor = toBlock;
      },
    });
    await follower.poll();
    const latest = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    expect(ranges).toEqual([{ fromBlock: BigInt(deployBlock), toBlock: latest }]);
    // The dev accounts' deposits happened after the deployment: none is missed.
    expect(applied.filter((log) => log.eventName === 'Deposited').length).toBeGreaterThan(0);

    await chain.wallet('jobCreator').sendTransaction({ to: chain.address('user9'), value: 1n });
    await follower.poll();
    expect(ranges[1]).toEqual({ fromBlock: latest + 1n, toBlock: latest + 1n });
  });
});
