import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { walletClientFor } from '../../chain/clients.js';
import { Role } from '../../chain/deals.js';
import { registerService } from '../../chain/registry.js';
import { Solver } from '../../solver/solver.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { chainForSolver, networkOption } from '../network.js';
import { collectAddress, untilStopped } from '../options.js';

type Flags = {
  network?: string;
  host: string;
  port: number;
  url?: string;
  dataDir?: string;
  mediator: `0x${string}`[];
};

export function registerSolver(program: Command): void {
  program
    .command('solver')
    .summary('match job offers with resource offers and host the directory')
    .description(
      'Run a solver: it accepts EIP-712-signed job and resource offers, matches them, collects both ' +
        'signatures on each deal and submits it on-chain, pushes events to the parties over WebSocket, ' +
        'and hosts the directory of inputs and results as an IPFS trustless gateway (GET /ipfs/<cid>). ' +
        "At start it registers its URL (--url) in the users' registry on-chain, where\n" +
        'clients find it from its address.',
    )
    .addOption(networkOption())
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v: string) => Number(v), 8080)
    .option(
      '--data-dir <path>',
      'where the solver keeps its database and directory (default $LILYPAD_DATA_DIR/solver/<network>)',
    )
    .option(
      '--url <url>',
      'the URL clients reach this solver at, registered on-chain (default: where it listens)',
      (value: string) => {
        if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
          throw new InvalidArgumentError(`"${value}" is not an http(s) URL`);
        return value;
      },
    )
    .option(
      '--mediator <address>',
      'a mediator to suggest to clients (repeat for several)',
      collectAddress,
      [],
    )
    .addHelpText(
      'after',
      environmentHelp([
        'WEB3_PRIVATE_KEY',
        'LILYPAD_NETWORK',
        'WEB3_RPC_URL',
        'LILYPAD_DEALS_ADDRESS',
        'LILYPAD_DATA_DIR',
        'LILYPAD_LOG_LEVEL',
      ]),
    )
    .action(async (flags: Flags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const { name, chain } = await chainForSolver(dataDir(), flags.network);
      const logger = createLogger().child({ network: name });
      const solver = new Solver({
        network: chain,
        privateKey,
        dataDir: flags.dataDir ?? join(dataDir(), 'solver', name),
        host: flags.host,
        port: flags.port,
        logger,
        mediators: flags.mediator,
      });
      const listening = await solver.start();
      const url = flags.url ?? listening;
      const wallet = walletClientFor(chain.rpcUrl, chain.chainId, privateKey);
      try {
        const tx = await registerService(wallet, chain, { roles: Role.solver, url });
        logger.info({ url, address: solver.address, tx: tx?.hash }, 'solver registered on-chain');
      } catch (error) {
        await solver.stop();
        throw error;
      }
      await untilStopped();
      await solver.stop();
    });
}
