import { join } from 'node:path';
import type { Command } from 'commander';
import { publicClientFor } from '../../chain/clients.js';
import { LilypadError } from '../../protocol/errors.js';
import { addressSchema, parseWire } from '../../protocol/wire.js';
import { Solver } from '../../solver/solver.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { collectAddress, untilStopped } from '../options.js';

export function registerSolver(program: Command): void {
  program
    .command('solver')
    .summary('match job offers with resource offers and host the directory')
    .description(
      'Run a solver: it accepts EIP-712-signed job and resource offers, matches them, collects both\n' +
        'signatures on each deal and submits it on-chain, pushes events to the parties over WebSocket,\n' +
        'and hosts the directory of inputs and results as an IPFS trustless gateway (GET /ipfs/<cid>).',
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v: string) => Number(v), 8080)
    .option(
      '--data-dir <path>',
      'where the solver keeps its database and directory (default $LILYPAD_DATA_DIR/solver)',
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
        'WEB3_RPC_URL',
        'LILYPAD_DEALS_ADDRESS',
        'LILYPAD_TOKEN_ADDRESS',
        'LILYPAD_DATA_DIR',
        'LILYPAD_LOG_LEVEL',
      ]),
    )
    .action(async (flags: { host: string; port: number; dataDir?: string; mediator: `0x${string}`[] }) => {
      const rpcUrl = env('WEB3_RPC_URL');
      const deals = env('LILYPAD_DEALS_ADDRESS');
      const token = env('LILYPAD_TOKEN_ADDRESS');
      if (!rpcUrl || !deals || !token) {
        throw new LilypadError(
          'the solver needs WEB3_RPC_URL, LILYPAD_DEALS_ADDRESS and LILYPAD_TOKEN_ADDRESS',
          {
            hint: 'or run `lilypad devnet` for a local network with everything set up',
          },
        );
      }
      const chainId = await publicClientFor(rpcUrl, 1).getChainId();
      const solver = new Solver({
        network: {
          chainId,
          rpcUrl,
          deals: parseWire(addressSchema, deals, 'LILYPAD_DEALS_ADDRESS'),
          token: parseWire(addressSchema, token, 'LILYPAD_TOKEN_ADDRESS'),
        },
        privateKey: privateKeyFrom(env('WEB3_PRIVATE_KEY')),
        dataDir: flags.dataDir ?? join(dataDir(), 'solver'),
        host: flags.host,
        port: flags.port,
        logger: createLogger(),
        mediators: flags.mediator,
      });
      await solver.start();
      await untilStopped();
      await solver.stop();
    });
}
