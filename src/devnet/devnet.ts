/**
 * The whole network on one machine: anvil, the contracts, a solver, a resource provider, a mediator and the
 * bridge for contracts' jobs, with the well-known dev accounts funded. The solver is registered on-chain with
 * its URL (clients can find it from its address) and a mediator service runs for the dev mediator account
 * (registered with a stake), so a challenge on the devnet draws it and it judges.
 * Used by `lilypad devnet` and by `lilypad run` when no network is set.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Address, parseEther } from 'viem';
import { Bridge } from '../bridge/bridge.js';
import { type Anvil, startAnvil } from '../chain/anvil.js';
import { publicClientFor, walletClientFor } from '../chain/clients.js';
import { Role } from '../chain/deals.js';
import { deployContracts, deployJobs, fundDevNetwork } from '../chain/deploy.js';
import { devAccount as account, type DevRole, devAccounts } from '../chain/dev-accounts.js';
import { registerService } from '../chain/registry.js';
import { Mediator } from '../mediator/mediator.js';
import { defaults } from '../protocol/defaults.js';
import type { NetworkConfig } from '../protocol/network.js';
import { ResourceProvider } from '../resource-provider/resource-provider.js';
import { Solver } from '../solver/solver.js';

export type DevnetOptions = {
  /** Where the services keep their state; the devnet owns this folder. */
  dataDir: string;
  logger: Logger;
  solverPort?: number;
  /** Jobs the devnet's resource provider runs at once. */
  slots?: number;
  /** Start the bridge for contracts' jobs (default true; a test may run its own). */
  bridge?: boolean;
  /** Also serve the web app and API (`lilypad web`), on this port (0: a free one). */
  web?: { port?: number };
};

export type Devnet = {
  network: NetworkConfig;
  accounts: typeof devAccounts;
  /** The mediators the devnet's parties trust: the dev mediator account. */
  mediators: Address[];
  solver: Solver;
  resourceProvider: ResourceProvider;
  /** Runs the jobs contracts ask `network.jobs` for; undefined when started with `bridge: false`. */
  bridge: Bridge | undefined;
  mediator: Mediator;
  /** The web app's URL, when `web` was asked for. */
  webUrl?: string;
  stop(): Promise<void>;
};

/** The dev account the devnet's bridge runs contracts' jobs with (the jobs contract's `bridge`). */
export const DEVNET_BRIDGE_ROLE: DevRole = 'user6';

/** The dev mediator's stake: a hundred default mediation fees, far more than any devnet deal asks for. */
export const DEVNET_MEDIATOR_STAKE = defaults.mediationFee * 100n;

export type DevChain = {
  anvil: Anvil;
  /** The chain and its contracts (the jobs contract included), the dev accounts funded. */
  chain: Omit<NetworkConfig, 'solver' | 'solverUrl'> & { jobs: Address };
};

/**
 * The devnet's chain without its services: anvil with the contracts deployed (the jobs contract settled by the
 * bridge's dev account) and every dev account funded. For tests that run the services as processes of their own.
 */
export async function startDevChain(): Promise<DevChain> {
  const anvil = await startAnvil();
  try {
    const deployer = account('deployer');
    const wallet = walletClientFor(anvil.rpcUrl, anvil.chainId, deployer.privateKey);
    const publicClient = publicClientFor(anvil.rpcUrl, anvil.chainId);
    const contracts = await deployContracts(wallet, publicClient);
    await fundDevNetwork({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      ...contracts,
      accounts: devAccounts.filter((a) => a.role !== 'deployer'),
      amountLP: parseEther('1000'),
    });
    const jobs = await deployJobs(wallet, publicClient, {
      deals: contracts.deals,
      bridge: account(DEVNET_BRIDGE_ROLE).address,
    });
    return { anvil, chain: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, ...contracts, jobs } };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const { dataDir, logger } = options;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => {});
  };
  try {
    const { anvil, chain } = await startDevChain();
    stops.push(() => anvil.stop());
    const deployer = account('deployer');
    const wallet = (role: DevRole) => walletClientFor(anvil.rpcUrl, anvil.chainId, account(role).privateKey);
    const mediators = [account('mediator').address];
    const solver = new Solver({
      network: chain,
      privateKey: account('solver').privateKey,
      dataDir: join(dataDir, 'solver'),
      port: options.solverPort ?? 0,
      logger: logger.child({ service: 'solver' }),
      pollIntervalMs: 25,
      mediators,
    });
    stops.push(() => solver.stop());
    const solverUrl = await solver.start();
    await registerService(wallet('solver'), chain, { roles: Role.solver, url: solverUrl });
    const network: NetworkConfig = { ...chain, solver: solver.address, solverUrl };
    const resourceProvider = new ResourceProvider({
      network,
      privateKey: account('resourceProvider').privateKey,
      dataDir: join(dataDir, 'resource-provider'),
      logger: logger.child({ service: 'resource-provider' }),
      spec: defaults.devnetSpec,
      pricing: defaults.resourceProvider,
      mediators,
      slots: options.slots ?? 2,
    });
    stops.push(() => resourceProvider.stop());
    // The mediator service of the dev mediator account: registers, stakes, and judges challenged deals.
    const mediator = new Mediator({
      network,
      privateKey: account('mediator').privateKey,
      dataDir: join(dataDir, 'mediator'),
      logger: logger.child({ service: 'mediator' }),
      stake: DEVNET_MEDIATOR_STAKE,
      pollIntervalMs: 100,
    });
    stops.push(() => mediator.stop());
    await Promise.all([resourceProvider.start(), mediator.start()]);

    // Jobs asked for by contracts: the jobs contract, settled by the bridge's dev account.
    const bridgeAccount = account(DEVNET_BRIDGE_ROLE);
    let bridge: Bridge | undefined;
    if (options.bridge !== false) {
      const started = new Bridge({
        network,
        jobs: chain.jobs,
        privateKey: bridgeAccount.privateKey,
        dataDir: join(dataDir, 'bridge'),
        logger: logger.child({ service: 'bridge' }),
        mediators,
        pollIntervalMs: 250,
      });
      await started.start();
      stops.push(() => started.stop());
      bridge = started;
    }

    // The web app: its accounts' wallets are funded by the deployer, the devnet's faucet.
    let webUrl: string | undefined;
    if (options.web) {
      const { startWebServer } = await import('../web/server.js');
      const web = await startWebServer({
        network,
        mediators,
        dataDir: join(dataDir, 'web'),
        logger,
        faucetPrivateKey: deployer.privateKey,
        port: options.web.port ?? 0,
      });
      stops.push(() => web.stop());
      webUrl = web.url;
    }
    return {
      network,
      accounts: devAccounts,
      mediators,
      solver,
      resourceProvider,
      mediator,
      bridge,
      webUrl,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
