/**
 * The devnet with every service in a process of its own, started with the `lilypad` command as an operator
 * would: solver, resource provider, mediator, bridge and web app on the devnet's chain. The resource provider
 * reaches the solver through a CuttingProxy and keeps its data on a small tmpfs that a test can fill (when it
 * runs as root; elsewhere on a plain folder, and `disk` is undefined).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address } from 'viem';
import { freePort } from '../../src/chain/anvil.js';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { DEVNET_BRIDGE_ROLE, type DevChain, startDevChain } from '../../src/devnet/devnet.js';
import { writeDevnetState } from '../../src/devnet/state-file.js';
import type { NetworkConfig } from '../../src/protocol/network.js';
import { ServiceProcess } from '../fixtures/service-process.js';
import { mountSmallDisk, type SmallDisk } from '../fixtures/small-disk.js';
import { CuttingProxy } from './cutting-proxy.js';

export type ServiceName = 'solver' | 'resource provider' | 'mediator' | 'bridge' | 'web';

export type ProcessNetwork = DevChain & {
  network: NetworkConfig & { jobs: Address };
  mediators: Address[];
  services: Record<ServiceName, ServiceProcess>;
  proxy: CuttingProxy;
  webUrl: string;
  /** The resource provider's data folder: a small tmpfs when this runs as root, else undefined. */
  disk: SmallDisk | undefined;
  stop(): Promise<void>;
};

export async function startProcessNetwork(dir: string): Promise<ProcessNetwork> {
  const devChain = await startDevChain();
  const stops: (() => Promise<void>)[] = [() => devChain.anvil.stop()];
  const stop = async () => {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => {});
  };
  try {
    const solverPort = await freePort();
    const network = {
      ...devChain.chain,
      solver: devAccount('solver').address,
      solverUrl: `http://127.0.0.1:${solverPort}`,
    };
    const mediators = [devAccount('mediator').address];
    const proxy = await CuttingProxy.start(solverPort);
    stops.push(() => proxy.close());
    // Each home announces the devnet (this process) to the services started from it; the provider's names the
    // proxy as the solver's URL.
    const home = join(dir, 'home');
    const providerHome = join(dir, 'provider-home');
    await mkdir(home, { recursive: true });
    await mkdir(providerHome, { recursive: true });
    await writeDevnetState(home, { pid: process.pid, network, mediators });
    await writeDevnetState(providerHome, {
      pid: process.pid,
      network: { ...network, solverUrl: proxy.url },
      mediators,
    });

    const disk = await mountSmallDisk(join(dir, 'provider-disk'), 64);
    if (disk) stops.push(async () => disk.unmount());
    const webPort = await freePort();
    const logs = join(dir, 'logs');
    await mkdir(logs, { recursive: true });
    const service = (
      name: ServiceName,
      args: string[],
      role: Parameters<typeof devAccount>[0],
      ready: RegExp,
    ) =>
      new ServiceProcess({
        name,
        args: [...args, '--network', 'devnet'],
        env: {
          LILYPAD_DATA_DIR: name === 'resource provider' ? providerHome : home,
          WEB3_PRIVATE_KEY: devAccount(role).privateKey,
          LILYPAD_LOG_LEVEL: 'info',
          LILYPAD_WEB_SECRET: 'chaos test secret, not a real one',
        },
        ready,
        logFile: join(logs, `${name.replace(' ', '-')}.log`),
      });
    const services: Record<ServiceName, ServiceProcess> = {
      solver: service(
        'solver',
        ['solver', '--port', String(solverPort)],
        'solver',
        /solver registered on-chain/,
      ),
      'resource provider': service(
        'resource provider',
        [
          'resource-provider',
          '--data-dir',
          join(dir, 'provider-disk'),
          '--slots',
          '2',
          '--cpu',
          '1000',
          '--ram',
          '512',
          '--disk',
          '16',
          // The tmpfs is small and may be full when the provider starts again: the machine is given, not probed.
          '--machine-cpus',
          '2',
          '--machine-ram',
          '4096',
          '--machine-disk',
          '1024',
        ],
        'resourceProvider',
        /resource provider 0x[0-9a-fA-F]+ ready/,
      ),
      mediator: service('mediator', ['mediator'], 'mediator', /mediator started/),
      bridge: service(
        'bridge',
        ['bridge', '--poll-interval', '250', '--match-timeout', '60'],
        DEVNET_BRIDGE_ROLE,
        /bridge started/,
      ),
      web: service('web', ['web', '--port', String(webPort)], 'deployer', /Lilypad web app on/),
    };
    stops.push(async () => {
      await Promise.all(Object.values(services).map((s) => s.stop()));
    });
    await services.solver.start();
    await Promise.all(
      (['resource provider', 'mediator', 'bridge', 'web'] as const).map((name) => services[name].start()),
    );
    return {
      ...devChain,
      network,
      mediators,
      services,
      proxy,
      webUrl: `http://127.0.0.1:${webPort}`,
      disk,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
