import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startDevnet } from '../../devnet/devnet.js';
import { readDevnetState, removeDevnetState, writeDevnetState } from '../../devnet/state-file.js';
import { LilypadError } from '../../protocol/errors.js';
import { dataDir, environmentHelp } from '../environment.js';
import { createLogger } from '../logger.js';

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .summary('run the whole network on this machine, in the foreground')
    .description(
      'Start a local network: an anvil chain with the contracts deployed, a solver, a resource provider ' +
        'and a mediator account, with the well-known dev accounts funded with ETH and LP. ' +
        'It prints the RPC URL, the contract addresses, the solver URL and the dev keys, and announces ' +
        'itself in <data dir>/devnet.json so that `lilypad run` uses it. Ctrl-C stops everything.',
    )
    .option('--data-dir <path>', 'where the devnet keeps its state (default $LILYPAD_DATA_DIR or ~/.lilypad)')
    .option('--solver-port <port>', 'port of the solver (default: a free one)', (v: string) => Number(v))
    .option('--slots <n>', 'jobs the resource provider runs at once', (v: string) => Number(v), 2)
    .option(
      '--web-port <port>',
      'port of the web app and API (default 8090; 0: a free one)',
      (v: string) => Number(v),
      8090,
    )
    .addHelpText('after', environmentHelp(['LILYPAD_DATA_DIR', 'LILYPAD_LOG_LEVEL']))
    .action(async (flags: { dataDir?: string; solverPort?: number; slots: number; webPort: number }) => {
      const dir = dataDir(flags.dataDir);
      const existing = await readDevnetState(dir);
      if (existing) {
        throw new LilypadError(`a devnet is already running for ${dir} (pid ${existing.pid})`, {
          hint: 'stop it first, or use another --data-dir',
        });
      }
      const servicesDir = join(dir, 'devnet');
      await rm(servicesDir, { recursive: true, force: true }); // a new chain: old service state would lie
      await mkdir(servicesDir, { recursive: true });
      const logFile = join(servicesDir, 'devnet.log');
      const devnet = await startDevnet({
        dataDir: servicesDir,
        logger: createLogger(logFile),
        solverPort: flags.solverPort,
        slots: flags.slots,
        web: { port: flags.webPort },
      });
      await writeDevnetState(dir, { pid: process.pid, network: devnet.network, mediators: devnet.mediators });
      const { network } = devnet;
      const rows = [
        ['RPC URL', `${network.rpcUrl} (chain ${network.chainId})`],
        ['LP token', network.token],
        ['Deal contract', network.deals],
        ['Jobs contract', `${network.jobs} (bridge ${devnet.bridge?.address})`],
        ['Solver', `${network.solverUrl} (${network.solver})`],
        ['Resource provider', devnet.resourceProvider.address],
        ['Web app', devnet.webUrl ?? ''],
        ['Mediator', devnet.mediators.join(', ')],
        ['Logs', logFile],
      ];
      const out = process.stdout;
      out.write('Lilypad devnet is running. Ctrl-C stops it.\n\n');
      for (const [name, value] of rows) out.write(`  ${String(name).padEnd(18)} ${value}\n`);
      out.write('\nDev accounts (well-known test keys: never use them on a real network):\n');
      for (const account of devnet.accounts)
        out.write(`  ${account.role.padEnd(17)}  ${account.address}  ${account.privateKey}\n`);
      out.write('\nIn another terminal:\n  npx lilypad run cowsay:v0.0.1 -i Message="moo"\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      out.write('\nstopping the devnet…\n');
      await removeDevnetState(dir, process.pid);
      await devnet.stop();
    });
}
