/**
 * Which network a command talks to, first match wins:
 * 1. `--network NAME` (or LILYPAD_NETWORK): a profile from `<data dir>/networks/` (see `lilypad deploy`), or
 *    `devnet`, the local one;
 * 2. WEB3_RPC_URL + LILYPAD_DEALS_ADDRESS: a chain and its deal contract (the token is read from the contract);
 * 3. WEB3_RPC_URL + LILYPAD_SOLVER_URL: the contracts the solver announces;
 * 4. nothing: the local devnet, a `lilypad devnet` running with the same data dir (or, for `lilypad run`, one
 *    embedded for the run).
 * For 1 and 2 the solver is found on-chain: its address (LILYPAD_SOLVER_ADDRESS, else the profile's `solver`) gives
 * its URL in the users' registry; LILYPAD_SOLVER_URL overrides that URL. In every case the solver must answer for
 * the same chain and deal contract, so a client never signs for a network it did not choose.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Option } from 'commander';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { lilypadDealsAbi } from '../chain/artifacts/index.js';
import { publicClientFor } from '../chain/clients.js';
import { solverUrlOf } from '../chain/deals.js';
import { devAccount } from '../chain/dev-accounts.js';
import { readDevnetState } from '../devnet/state-file.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { addressSchema, parseWire } from '../protocol/wire.js';
import { env, privateKeyFrom } from './environment.js';
import { DEVNET, listProfiles, readProfile } from './network-profiles.js';

/** The chain and its contracts: all a solver needs, and what a client completes with the solver. */
export type ChainConfig = Pick<
  NetworkConfig,
  'chainId' | 'rpcUrl' | 'token' | 'deals' | 'deployBlock' | 'jobs'
>;

/** The network as chosen by flags and environment, before its solver is reached. */
export type NetworkChoice =
  | { kind: 'devnet' }
  | { kind: 'chain'; name: string; chain: ChainConfig; solver: Address | undefined }
  | { kind: 'solver-url'; rpcUrl: string; solverUrl: string };

/** A network a client can use: the chain, the contracts and a solver that answered for them. */
export type ConnectedNetwork = { name: string; network: NetworkConfig; mediators: Address[] };

export type RunNetwork = {
  network: NetworkConfig;
  privateKey: Hex;
  mediators: Address[];
  source: 'configured' | 'devnet' | 'embedded';
  stop(): Promise<void>;
};

const rpcClient = (rpcUrl: string, chainId = 1) => publicClientFor(rpcUrl, chainId);

async function chainIdAt(rpcUrl: string): Promise<number> {
  try {
    return await rpcClient(rpcUrl).getChainId();
  } catch (cause) {
    throw new LilypadError(`cannot reach the JSON-RPC endpoint ${rpcUrl}`, { cause });
  }
}

/** The chain at `rpcUrl` with the deal contract at `deals`; the token is the one the contract was deployed with. */
async function chainAt(rpcUrl: string, deals: Address): Promise<ChainConfig> {
  const chainId = await chainIdAt(rpcUrl);
  try {
    const token = await rpcClient(rpcUrl, chainId).readContract({
      address: deals,
      abi: lilypadDealsAbi,
      functionName: 'token',
    });
    return { chainId, rpcUrl, deals, token };
  } catch (cause) {
    throw new LilypadError(`no Lilypad deal contract answers at ${deals} on chain ${chainId}`, {
      cause,
      hint: 'check LILYPAD_DEALS_ADDRESS and WEB3_RPC_URL',
    });
  }
}

const solverAddressFromEnv = (): Address | undefined => {
  const value = env('LILYPAD_SOLVER_ADDRESS');
  return value === undefined ? undefined : parseAddress(value, 'LILYPAD_SOLVER_ADDRESS');
};

const jobsAddressFromEnv = (): Address | undefined => {
  const value = env('LILYPAD_JOBS_ADDRESS');
  return value === undefined ? undefined : parseAddress(value, 'LILYPAD_JOBS_ADDRESS');
};
/** The jobs contract, where a network has one (the field is left out otherwise). */
const withJobs = (jobs: Address | undefined) => (jobs ? { jobs } : {});

function parseAddress(value: string, what: string): Address {
  const parsed = addressSchema.safeParse(value);
  if (!parsed.success)
    throw new LilypadError(`${what} is not an address`, { hint: 'expected 0x + 40 hex digits' });
  return parsed.data;
}

/** Reads `--network` (or the environment) into a choice; a profile's chain is checked against its RPC endpoint. */
export async function chooseNetwork(dataDir: string, name: string | undefined): Promise<NetworkChoice> {
  if (name === DEVNET) return { kind: 'devnet' };
  if (name !== undefined) {
    const { chainId, rpcUrl, token, deals, deployBlock, solver, jobs } = await readProfile(dataDir, name);
    const served = await chainIdAt(rpcUrl);
    if (served !== chainId) {
      throw new LilypadError(
        `the network profile "${name}" is for chain ${chainId} but ${rpcUrl} serves chain ${served}`,
      );
    }
    return {
      kind: 'chain',
      name,
      chain: {
        chainId,
        rpcUrl,
        token,
        deals,
        ...(deployBlock === undefined ? {} : { deployBlock }),
        ...withJobs(jobsAddressFromEnv() ?? jobs),
      },
      solver: solverAddressFromEnv() ?? solver,
    };
  }
  const rpcUrl = env('WEB3_RPC_URL');
  const deals = env('LILYPAD_DEALS_ADDRESS');
  const solverUrl = env('LILYPAD_SOLVER_URL');
  if (rpcUrl && deals) {
    const chain = {
      ...(await chainAt(rpcUrl, parseAddress(deals, 'LILYPAD_DEALS_ADDRESS'))),
      ...withJobs(jobsAddressFromEnv()),
    };
    return { kind: 'chain', name: `chain-${chain.chainId}`, chain, solver: solverAddressFromEnv() };
  }
  if (rpcUrl && solverUrl) return { kind: 'solver-url', rpcUrl, solverUrl };
  if (rpcUrl || deals || solverUrl) {
    const set = ['WEB3_RPC_URL', 'LILYPAD_DEALS_ADDRESS', 'LILYPAD_SOLVER_URL'].filter((n) =>
      process.env[n]?.trim(),
    );
    throw new LilypadError(`the network is not fully configured: only ${set.join(' and ')} is set`, {
      hint:
        'pass --network NAME (a profile), or set WEB3_RPC_URL with LILYPAD_DEALS_ADDRESS (and LILYPAD_SOLVER_ADDRESS), ' +
        'or WEB3_RPC_URL with LILYPAD_SOLVER_URL; unset them all for the local devnet',
    });
  }
  return { kind: 'devnet' };
}

const healthSchema = z.object({
  solver: addressSchema,
  chainId: z.number().int(),
  deals: addressSchema,
  token: addressSchema,
  mediators: z.array(addressSchema).default([]),
});

async function solverHealth(solverUrl: string): Promise<z.output<typeof healthSchema>> {
  let body: unknown;
  try {
    const response = await fetch(`${solverUrl.replace(/\/+$/, '')}/api/v1/health`);
    body = await response.json();
  } catch (cause) {
    throw new LilypadError(`cannot reach the solver at ${solverUrl}`, {
      cause,
      hint: 'is the solver running? LILYPAD_SOLVER_URL overrides the URL registered on-chain',
    });
  }
  return parseWire(healthSchema, body, 'solver health answer');
}

/** Finds the chosen network's solver and checks that it serves the same chain and contracts. */
export async function connect(choice: Exclude<NetworkChoice, { kind: 'devnet' }>): Promise<ConnectedNetwork> {
  if (choice.kind === 'solver-url') {
    const health = await solverHealth(choice.solverUrl);
    const chainId = await chainIdAt(choice.rpcUrl);
    if (chainId !== health.chainId) {
      throw new LilypadError(
        `the solver is on chain ${health.chainId} but WEB3_RPC_URL serves chain ${chainId}`,
      );
    }
    const { mediators, ...rest } = health;
    return {
      name: `chain-${chainId}`,
      network: { ...rest, rpcUrl: choice.rpcUrl, solverUrl: choice.solverUrl },
      mediators,
    };
  }
  const { name, chain, solver } = choice;
  const solverUrl = env('LILYPAD_SOLVER_URL') ?? (await registeredSolverUrl(chain, solver, name));
  const health = await solverHealth(solverUrl);
  if (health.chainId !== chain.chainId || health.deals !== chain.deals) {
    throw new LilypadError(`the solver at ${solverUrl} serves another network than "${name}"`, {
      details: `solver: chain ${health.chainId}, deals ${health.deals}; ${name}: chain ${chain.chainId}, deals ${chain.deals}`,
    });
  }
  if (solver !== undefined && health.solver !== solver) {
    throw new LilypadError(`the solver at ${solverUrl} is ${health.solver}, not ${solver}`, {
      hint: 'check LILYPAD_SOLVER_URL and LILYPAD_SOLVER_ADDRESS',
    });
  }
  return {
    name,
    network: { ...chain, solver: health.solver, solverUrl },
    mediators: health.mediators,
  };
}

async function registeredSolverUrl(
  chain: ChainConfig,
  solver: Address | undefined,
  name: string,
): Promise<string> {
  if (solver === undefined) {
    throw new LilypadError(`no solver is named for the network "${name}"`, {
      hint:
        "set LILYPAD_SOLVER_ADDRESS to the solver's address (its URL is read from the chain), or LILYPAD_SOLVER_URL; " +
        'a profile names one with `lilypad deploy --solver ADDRESS`',
    });
  }
  try {
    return await solverUrlOf(rpcClient(chain.rpcUrl, chain.chainId), chain, solver);
  } catch (cause) {
    throw new LilypadError(
      `the solver ${solver} has no URL registered on "${name}" (chain ${chain.chainId})`,
      {
        cause,
        hint: `a solver registers its URL when it starts (\`lilypad solver --network ${name}\`); LILYPAD_SOLVER_URL overrides it`,
      },
    );
  }
}

async function runningDevnet(dataDir: string): Promise<ConnectedNetwork> {
  const running = await readDevnetState(dataDir);
  if (!running) {
    const profiles = await listProfiles(dataDir);
    throw new LilypadError('no network is configured and no `lilypad devnet` is running', {
      details: profiles.length > 0 ? `network profiles: ${profiles.join(', ')}` : undefined,
      hint: 'pass --network NAME, or start `lilypad devnet` with the same data dir',
    });
  }
  return { name: DEVNET, network: running.network, mediators: running.mediators };
}

/** The networks a service (a resource provider) serves: each name given, or the one configured, or the devnet. */
export async function networksForService(
  dataDir: string,
  names: readonly string[],
): Promise<ConnectedNetwork[]> {
  const unique = names.length > 0 ? [...new Set(names)] : [undefined];
  return Promise.all(
    unique.map(async (name) => {
      const choice = await chooseNetwork(dataDir, name);
      return choice.kind === 'devnet' ? runningDevnet(dataDir) : connect(choice);
    }),
  );
}

/** The chain a solver serves: a profile, the configured contracts, or those of a running devnet. */
export async function chainForSolver(
  dataDir: string,
  name: string | undefined,
): Promise<{ name: string; chain: ChainConfig }> {
  const choice = await chooseNetwork(dataDir, name);
  if (choice.kind === 'chain') return choice;
  if (choice.kind === 'solver-url') {
    throw new LilypadError('a solver needs its deal contract, not another solver', {
      hint: 'pass --network NAME, or set WEB3_RPC_URL and LILYPAD_DEALS_ADDRESS',
    });
  }
  const { network } = await runningDevnet(dataDir);
  const { chainId, rpcUrl, token, deals, deployBlock } = network;
  return { name: DEVNET, chain: { chainId, rpcUrl, token, deals, deployBlock } };
}

export async function networkForRun(options: {
  dataDir: string;
  logger: Logger;
  /** `--network`: a profile name, or `devnet`. */
  network?: string;
  onEmbeddedStart?: () => void;
}): Promise<RunNetwork> {
  const choice = await chooseNetwork(options.dataDir, options.network);
  if (choice.kind !== 'devnet') {
    const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
    const { network, mediators } = await connect(choice);
    return { network, privateKey, mediators, source: 'configured', stop: async () => {} };
  }
  const privateKey = env('WEB3_PRIVATE_KEY')
    ? privateKeyFrom(env('WEB3_PRIVATE_KEY'))
    : devAccount('jobCreator').privateKey;
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

/** `--network NAME`, the same on every command that talks to a network. */
export function networkOption(): Option {
  return new Option(
    '--network <name>',
    'the network: a profile (see `lilypad deploy`) or `devnet` (default: the one configured, else the local devnet)',
  ).env('LILYPAD_NETWORK');
}
