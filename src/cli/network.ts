/**
 * Which network a `lilypad run` talks to: a configured one (LILYPAD_SOLVER_URL), a `lilypad devnet`
 * running on this machine (found through its state file), or an embedded devnet started for the run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { publicClientFor } from '../chain/clients.js';
import { devAccounts } from '../chain/dev-accounts.js';
import { readDevnetState } from '../devnet/state-file.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { addressSchema, parseWire } from '../protocol/wire.js';
import { env, privateKeyFrom } from './environment.js';

export type RunNetwork = {
  network: NetworkConfig;
  privateKey: Hex;
  mediators: Address[];
  source: 'configured' | 'devnet' | 'embedded';
  stop(): Promise<void>;
};

const healthSchema = z.object({
  solver: addressSchema,
  chainId: z.number().int(),
  deals: addressSchema,
  token: addressSchema,
  mediators: z.array(addressSchema).default([]),
});

/** Reads the network's addresses from its solver and checks that the RPC serves the same chain. */
export async function discoverNetwork(
  solverUrl: string,
  rpcUrl: string,
): Promise<{ network: NetworkConfig; mediators: Address[] }> {
  let body: unknown;
  try {
    const response = await fetch(`${solverUrl.replace(/\/+$/, '')}/api/v1/health`);
    body = await response.json();
  } catch (cause) {
    throw new LilypadError(`cannot reach the solver at ${solverUrl}`, {
      cause,
      hint: 'check LILYPAD_SOLVER_URL',
    });
  }
  const health = parseWire(healthSchema, body, 'solver health answer');
  const chainId = await publicClientFor(rpcUrl, health.chainId).getChainId();
  if (chainId !== health.chainId) {
    throw new LilypadError(
      `the solver is on chain ${health.chainId} but WEB3_RPC_URL serves chain ${chainId}`,
    );
  }
  const { mediators, ...rest } = health;
  return { network: { ...rest, rpcUrl, solverUrl }, mediators };
}

const jobCreatorKey = () => devAccounts.find((a) => a.role === 'jobCreator')?.privateKey as Hex;

export async function networkForRun(options: {
  dataDir: string;
  logger: Logger;
  onEmbeddedStart?: () => void;
}): Promise<RunNetwork> {
  const solverUrl = env('LILYPAD_SOLVER_URL');
  if (solverUrl) {
    const rpcUrl = env('WEB3_RPC_URL');
    if (!rpcUrl)
      throw new LilypadError('LILYPAD_SOLVER_URL is set but WEB3_RPC_URL is not', {
        hint: 'set both, or neither for a local devnet',
      });
    const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
    const { network, mediators } = await discoverNetwork(solverUrl, rpcUrl);
    return { network, privateKey, mediators, source: 'configured', stop: async () => {} };
  }
  const privateKey = env('WEB3_PRIVATE_KEY') ? privateKeyFrom(env('WEB3_PRIVATE_KEY')) : jobCreatorKey();
  const running = await readDevnetState(options.dataDir);
  if (running) {
    return {
      network: running.network,
      privateKey,
      mediators: running.mediators,
      source: 'devnet',
      stop: async () => {},
    };
  }
  options.onEmbeddedStart?.();
  const dir = await mkdtemp(join(options.dataDir, 'embedded-'));
  // Loaded only here: a run against an existing network does not pay for the services' code.
  const { startDevnet } = await import('../devnet/devnet.js');
  const devnet = await startDevnet({ dataDir: dir, logger: options.logger });
  return {
    network: devnet.network,
    privateKey,
    mediators: devnet.mediators,
    source: 'embedded',
    stop: async () => {
      await devnet.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
