/** Deploys the token and the deal contract, and funds a devnet's accounts with escrow balances. */
import { type Address, getAddress, type Hex, parseEther } from 'viem';
import { deployContract, writeContract } from 'viem/actions';
import { LilypadError } from '../protocol/errors.js';
import {
  lilypadDealsAbi,
  lilypadDealsBytecode,
  lilypadJobsAbi,
  lilypadJobsBytecode,
  lilypadTokenAbi,
  lilypadTokenBytecode,
} from './artifacts/index.js';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from './clients.js';
import { deposit } from './deals.js';
import { devAccount } from './dev-accounts.js';

/** `deployBlock`: the deal contract's block, where readers of its events start. */
export type DeployedContracts = { token: Address; deals: Address; deployBlock: number };

/** The token's initial supply, minted to the deployer (the devnet faucet): one billion LP. */
export const INITIAL_SUPPLY = parseEther('1000000000');

async function deployed(
  publicClient: LilypadPublicClient,
  hash: Hex,
  what: string,
): Promise<{ address: Address; block: number }> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new LilypadError(`deploying ${what} failed`, { details: `transaction ${hash}` });
  }
  return { address: getAddress(receipt.contractAddress), block: Number(receipt.blockNumber) };
}

/** Deploys LilypadToken (the whole supply to the deployer) and LilypadDeals over it. */
export async function deployContracts(
  wallet: LilypadWalletClient,
  publicClient: LilypadPublicClient,
  options: { initialSupply?: bigint } = {},
): Promise<DeployedContracts> {
  const tokenHash = await deployContract(wallet, {
    abi: lilypadTokenAbi,
    bytecode: lilypadTokenBytecode,
    args: [options.initialSupply ?? INITIAL_SUPPLY],
  });
  const { address: token } = await deployed(publicClient, tokenHash, 'LilypadToken');
  const dealsHash = await deployContract(wallet, {
    abi: lilypadDealsAbi,
    bytecode: lilypadDealsBytecode,
    args: [token],
  });
  const { address: deals, block: deployBlock } = await deployed(publicClient, dealsHash, 'LilypadDeals');
  return { token, deals, deployBlock };
}

/**
 * Deploys LilypadJobs over a deal contract, with `bridge` as the one account that settles contracts' jobs (see
 * contracts/README.md for what it is trusted with).
 */
export async function deployJobs(
  wallet: LilypadWalletClient,
  publicClient: LilypadPublicClient,
  options: { deals: Address; bridge: Address },
): Promise<Address> {
  const hash = await deployContract(wallet, {
    abi: lilypadJobsAbi,
    bytecode: lilypadJobsBytecode,
    args: [options.deals, options.bridge],
  });
  return (await deployed(publicClient, hash, 'LilypadJobs')).address;
}

export type FundOptions = {
  rpcUrl: string;
  chainId: number;
  token: Address;
  deals: Address;
  /** Accounts that get `amountLP` in their escrow balance. */
  accounts: readonly { privateKey: Hex }[];
  /** In token units (18 decimals). */
  amountLP: bigint;
  /** Who pays: the dev deployer by default, which holds the initial supply. */
  faucetPrivateKey?: Hex;
};

/**
 * The faucet sends `amountLP` to every account, then every account deposits it into the escrow with a permit
 * (one transaction each). Transfers go out concurrently (the nonce manager orders them), deposits in parallel.
 */
export async function fundDevNetwork(options: FundOptions): Promise<void> {
  const { rpcUrl, chainId, token, deals, amountLP } = options;
  const publicClient = publicClientFor(rpcUrl, chainId);
  const faucet = walletClientFor(
    rpcUrl,
    chainId,
    options.faucetPrivateKey ?? devAccount('deployer').privateKey,
  );
  const wallets = options.accounts.map((a) => walletClientFor(rpcUrl, chainId, a.privateKey));
  const transfers = await Promise.all(
    wallets.map((w) =>
      writeContract(faucet, {
        address: token,
        abi: lilypadTokenAbi,
        functionName: 'transfer',
        args: [w.account.address, amountLP],
      }),
    ),
  );
  for (const hash of transfers) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success')
      throw new LilypadError('funding a dev account failed', { details: hash });
  }
  await Promise.all(wallets.map((w) => deposit(w, { chainId, token, deals }, amountLP)));
}
