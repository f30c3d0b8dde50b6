/**
 * viem clients for any EVM JSON-RPC endpoint: the network is configuration. On a local node the polling interval
 * is short, so a devnet transaction is seen as soon as it is mined.
 */
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  type HttpTransport,
  http,
  type NonceManager,
  type PrivateKeyAccount,
  type PublicClient,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createNonceManager, jsonRpc } from 'viem/nonce';

export type LilypadPublicClient = PublicClient<HttpTransport, Chain>;
export type LilypadWalletClient = WalletClient<HttpTransport, Chain, PrivateKeyAccount>;

const chains = new Map<string, Chain>();

/** A minimal chain object for any chain id (viem needs one to sign transactions). */
export function chainFor(chainId: number, rpcUrl: string): Chain {
  const key = `${chainId} ${rpcUrl}`;
  let chain = chains.get(key);
  if (!chain) {
    chain = defineChain({
      id: chainId,
      name: chainId === 31337 ? 'Lilypad devnet' : `chain ${chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    chains.set(key, chain);
  }
  return chain;
}

function isLocal(rpcUrl: string): boolean {
  try {
    const { hostname } = new URL(rpcUrl);
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
}

const pollingIntervalFor = (rpcUrl: string) => (isLocal(rpcUrl) ? 50 : undefined);

/**
 * One transport per endpoint. On a local node the calls made together (one event-loop turn), by any client of the
 * process, go in one JSON-RPC batch: under load the parties of one process share HTTP requests.
 */
const transports = new Map<string, HttpTransport>();
function transportFor(rpcUrl: string): HttpTransport {
  let transport = transports.get(rpcUrl);
  if (!transport) {
    transport = http(rpcUrl, isLocal(rpcUrl) ? { batch: { wait: 0 } } : {});
    transports.set(rpcUrl, transport);
  }
  return transport;
}

export function publicClientFor(rpcUrl: string, chainId: number): LilypadPublicClient {
  return createPublicClient({
    chain: chainFor(chainId, rpcUrl),
    transport: transportFor(rpcUrl),
    pollingInterval: pollingIntervalFor(rpcUrl),
  });
}

/**
 * One nonce manager per endpoint: viem's shared one keys nonces by address and chain id only, so two
 * chains with the same id in one process (a devnet restarted, two anvils) would share, and break, them.
 */
const nonceManagers = new Map<string, NonceManager>();
function nonceManagerFor(rpcUrl: string): NonceManager {
  let manager = nonceManagers.get(rpcUrl);
  if (!manager) {
    manager = createNonceManager({ source: jsonRpc() });
    nonceManagers.set(rpcUrl, manager);
  }
  return manager;
}

/** Drops what this process remembers of an endpoint (its nonces), e.g. once its chain is gone. */
export function forgetEndpoint(rpcUrl: string): void {
  nonceManagers.delete(rpcUrl);
}

/** A wallet for one private key; its nonce manager lets the account send concurrent transactions. */
export function walletClientFor(rpcUrl: string, chainId: number, privateKey: Hex): LilypadWalletClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey, { nonceManager: nonceManagerFor(rpcUrl) }),
    chain: chainFor(chainId, rpcUrl),
    transport: transportFor(rpcUrl),
    pollingInterval: pollingIntervalFor(rpcUrl),
  });
}
