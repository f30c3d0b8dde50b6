/** Tops up an account's free escrow balance to what the next deals need, in one permit transaction. */
import { formatEther, type Hex } from 'viem';
import { LilypadError } from '../protocol/errors.js';
import { lilypadTokenAbi } from './artifacts/index.js';
import type { LilypadPublicClient, LilypadWalletClient } from './clients.js';
import { deposit, type EscrowNetwork, escrowBalance } from './deals.js';

export async function ensureEscrow(
  wallet: LilypadWalletClient,
  client: LilypadPublicClient,
  network: EscrowNetwork,
  minFree: bigint,
): Promise<{ amount: bigint; hash: Hex } | undefined> {
  const owner = wallet.account.address;
  const { free } = await escrowBalance(client, network, owner);
  if (free >= minFree) return undefined;
  const amount = minFree - free;
  const held = await client.readContract({
    address: network.token,
    abi: lilypadTokenAbi,
    functionName: 'balanceOf',
    args: [owner],
  });
  if (held < amount) {
    throw new LilypadError(
      `${owner} needs ${formatEther(amount)} LP more in escrow but holds ${formatEther(held)} LP`,
      {
        hint: 'get LP tokens into this account, or lower --max-price',
      },
    );
  }
  const { hash } = await deposit(wallet, network, amount);
  return { amount, hash };
}
