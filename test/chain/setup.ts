/** A fresh chain per test file: anvil, the contracts, funded dev accounts, and helpers to check the escrow. */
import { type Address, createTestClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { type Anvil, startAnvil } from '../../src/chain/anvil.js';
import { lilypadTokenAbi } from '../../src/chain/artifacts/index.js';
import { chainFor, publicClientFor, walletClientFor } from '../../src/chain/clients.js';
import { escrowBalance } from '../../src/chain/deals.js';
import { deployContracts, fundDevNetwork } from '../../src/chain/deploy.js';
import { type DevRole, devAccount, devAccounts } from '../../src/chain/dev-accounts.js';
import { type Deal, dealTypedData } from '../../src/protocol/eip712.js';
import { devDeal } from '../fixtures/deal.js';

export const FUNDED = parseEther('1000');

export async function startChain() {
  const anvil: Anvil = await startAnvil();
  const publicClient = publicClientFor(anvil.rpcUrl, anvil.chainId);
  const deployer = walletClientFor(anvil.rpcUrl, anvil.chainId, devAccount('deployer').privateKey);
  const contracts = await deployContracts(deployer, publicClient);
  const network = { chainId: anvil.chainId, ...contracts };
  await fundDevNetwork({
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    ...contracts,
    accounts: devAccounts.filter((a) => a.role !== 'deployer'),
    amountLP: FUNDED,
  });
  const testClient = createTestClient({
    mode: 'anvil',
    chain: chainFor(anvil.chainId, anvil.rpcUrl),
    transport: http(anvil.rpcUrl),
  });
  const wallets = new Map(
    devAccounts.map((a) => [a.role, walletClientFor(anvil.rpcUrl, anvil.chainId, a.privateKey)]),
  );
  /** Every account that may hold an escrow balance: the invariant sums over these. */
  const tracked = new Set<Address>(devAccounts.map((a) => a.address));

  const wallet = (role: DevRole) => {
    const found = wallets.get(role);
    if (!found) throw new Error(role);
    return found;
  };
  const address = (role: DevRole) => devAccount(role).address;

  const now = async () => (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;

  let counter = 0;
  /** A deal between the dev job creator and provider with distinct offer ids, so each one is new. */
  const makeDeal = async (overrides: Partial<Deal> = {}): Promise<Deal> =>
    devDeal(`${++counter} ${Math.random()}`, (await now()) + 3600n, overrides);

  const sign = (deal: Deal, privateKey: Hex) =>
    privateKeyToAccount(privateKey).signTypedData(dealTypedData(network, deal));
  const signBoth = async (deal: Deal) => {
    const byAddress = (a: Address) => {
      const found = devAccounts.find((d) => d.address.toLowerCase() === a.toLowerCase());
      if (!found) throw new Error(`not a dev account: ${a}`);
      return found.privateKey;
    };
    return [
      await sign(deal, byAddress(deal.jobCreator)),
      await sign(deal, byAddress(deal.resourceProvider)),
    ] as const;
  };

  type Snapshot = Map<Address, { free: bigint; locked: bigint }>;
  const snapshot = async (): Promise<Snapshot> => {
    const entries = await Promise.all(
      [...tracked].map(async (a) => [a, await escrowBalance(publicClient, network, a)] as const),
    );
    return new Map(entries);
  };

  /** token.balanceOf(deals) == Σ free + Σ locked, over every account that ever deposited. */
  const expectInvariant = async () => {
    const [held, balances] = await Promise.all([
      publicClient.readContract({
        address: network.token,
        abi: lilypadTokenAbi,
        functionName: 'balanceOf',
        args: [network.deals],
      }),
      snapshot(),
    ]);
    let sum = 0n;
    for (const { free, locked } of balances.values()) sum += free + locked;
    expect(held).toBe(sum);
    return balances;
  };

  /**
   * Runs one step, checks the invariant, and asserts the exact change of every escrow balance: accounts not
   * named in `changes` must not change at all.
   */
  const step = async <T>(
    action: () => Promise<T>,
    changes: Record<Address, { free?: bigint; locked?: bigint }> = {},
  ): Promise<T> => {
    const before = await snapshot();
    const result = await action();
    const after = await expectInvariant();
    const expected = new Map<string, { free: bigint; locked: bigint }>();
    for (const [a, delta] of Object.entries(changes)) {
      const key = a.toLowerCase();
      const prior = expected.get(key) ?? { free: 0n, locked: 0n };
      expected.set(key, {
        free: prior.free + (delta.free ?? 0n),
        locked: prior.locked + (delta.locked ?? 0n),
      });
    }
    for (const [a, now] of after) {
      const was = before.get(a) ?? { free: 0n, locked: 0n };
      const delta = expected.get(a.toLowerCase()) ?? { free: 0n, locked: 0n };
      expect({ account: a, free: now.free - was.free, locked: now.locked - was.locked }).toEqual({
        account: a,
        ...delta,
      });
    }
    return result;
  };

  const advance = async (seconds: bigint) => {
    await testClient.increaseTime({ seconds: Number(seconds) });
    await testClient.mine({ blocks: 1 });
  };

  return {
    anvil,
    publicClient,
    testClient,
    network,
    deployer,
    tracked,
    wallet,
    address,
    now,
    makeDeal,
    sign,
    signBoth,
    snapshot,
    expectInvariant,
    step,
    advance,
    stop: () => anvil.stop(),
  };
}

export type TestChain = Awaited<ReturnType<typeof startChain>>;
