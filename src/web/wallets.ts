/**
 * The accounts' job-creator wallets on the chain: balances (gas, tokens, escrow free and locked), the
 * escrow deposit and withdraw, and, on a network with a faucet (the devnet's deployer), the first
 * funds of a new wallet.
 */
import { type Address, type Hex, parseEther } from 'viem';
import { sendTransaction, writeContract } from 'viem/actions';
import { lilypadTokenAbi } from '../chain/artifacts/index.js';
import { publicClientFor, walletClientFor } from '../chain/clients.js';
import { deposit, escrowBalance, withdraw } from '../chain/deals.js';
import type { NetworkConfig } from '../protocol/network.js';

export type Balances = { gas: bigint; tokens: bigint; escrowFree: bigint; escrowLocked: bigint };

/** What the faucet gives a new wallet: gas for its transactions, and LP for its jobs. */
export const FAUCET_GRANT = { gas: parseEther('1'), tokens: parseEther('100') };

export class Wallets {
  readonly #network: NetworkConfig;
  readonly #faucetKey: Hex | undefined;
  readonly #client;

  constructor(network: NetworkConfig, faucetKey: Hex | undefined) {
    this.#network = network;
    this.#faucetKey = faucetKey;
    this.#client = publicClientFor(network.rpcUrl, network.chainId);
  }

  get hasFaucet(): boolean {
    return this.#faucetKey !== undefined;
  }

  #wallet(key: Hex) {
    return walletClientFor(this.#network.rpcUrl, this.#network.chainId, key);
  }

  /** Sends a new wallet the faucet's grant; does nothing on a network without a faucet. */
  async fund(address: Address): Promise<void> {
    if (!this.#faucetKey) return;
    const faucet = this.#wallet(this.#faucetKey);
    const hashes = await Promise.all([
      sendTransaction(faucet, { to: address, value: FAUCET_GRANT.gas }),
      writeContract(faucet, {
        address: this.#network.token,
        abi: lilypadTokenAbi,
        functionName: 'transfer',
        args: [address, FAUCET_GRANT.tokens],
      }),
    ]);
    for (const hash of hashes) await this.#client.waitForTransactionReceipt({ hash });
  }

  async balances(address: Address): Promise<Balances> {
    const [gas, tokens, escrow] = await Promise.all([
      this.#client.getBalance({ address }),
      this.#client.readContract({
        address: this.#network.token,
        abi: lilypadTokenAbi,
        functionName: 'balanceOf',
        args: [address],
      }),
      escrowBalance(this.#client, this.#network, address),
    ]);
    return { gas, tokens, escrowFree: escrow.free, escrowLocked: escrow.locked };
  }

  async deposit(key: Hex, amount: bigint): Promise<Hex> {
    return (await deposit(this.#wallet(key), this.#network, amount)).hash;
  }

  async withdraw(key: Hex, amount: bigint): Promise<Hex> {
    return (await withdraw(this.#wallet(key), this.#network, amount)).hash;
  }
}
