/**
 * The users' registry as services use it: a service announces its role and URL on-chain once (a restart with the
 * same URL sends nothing), and clients find a solver's URL from its address (`solverUrlOf` in `deals.ts`).
 */
import type { Account, Chain, Transport, WalletClient } from 'viem';
import { LilypadError } from '../protocol/errors.js';
import { type DealsNetwork, register, stake, type TxResult, userOf } from './deals.js';

type AnyWallet = WalletClient<Transport, Chain | undefined, Account | undefined>;

function senderOf(wallet: AnyWallet) {
  if (!wallet.account) throw new LilypadError('this wallet client has no account to send from');
  return wallet.account.address;
}

/**
 * Adds `roles` (a sum of `Role` flags) to the sender's registered roles and sets its service URL (kept as it is
 * when `url` is not given). Returns the transaction, or undefined when the registry already says exactly this.
 */
export async function registerService(
  wallet: AnyWallet,
  network: DealsNetwork,
  options: { roles: number; url?: string },
): Promise<TxResult | undefined> {
  const current = await userOf(wallet, network, senderOf(wallet));
  const roles = current.roles | options.roles;
  const url = options.url ?? current.url;
  if (roles === current.roles && url === current.url) return undefined;
  return register(wallet, network, roles, url);
}

/**
 * Tops the sender's mediator stake up to `minStake` from its free escrow balance, so that challenges can draw it
 * for deals whose mediation fee is at most `minStake`. Returns the transaction, or undefined if nothing was needed.
 */
export async function ensureStake(
  wallet: AnyWallet,
  network: DealsNetwork,
  minStake: bigint,
): Promise<TxResult | undefined> {
  const current = await userOf(wallet, network, senderOf(wallet));
  if (current.stake >= minStake) return undefined;
  return stake(wallet, network, minStake - current.stake);
}
