import { join } from 'node:path';
import type { Command } from 'commander';
import { devAccount } from '../../chain/dev-accounts.js';
import { startWebServer } from '../../web/server.js';
import { dataDir, env, environmentHelp } from '../environment.js';
import { createLogger } from '../logger.js';
import { networkOption, networksForService } from '../network.js';
import { DEVNET } from '../network-profiles.js';
import { untilStopped } from '../options.js';

type Flags = { network?: string; host: string; port: number; dataDir?: string };

export function registerWeb(program: Command): void {
  program
    .command('web')
    .summary('the web app and REST API: run modules from a browser, API keys for programs')
    .description(
      'Serve the web app and its REST API (/api/v1, described at /api/v1/openapi.json). People sign up ' +
        'with an email and password or with an Ethereum wallet (EIP-4361); each account gets its own ' +
        'job-creator wallet, whose key is kept encrypted with LILYPAD_WEB_SECRET. On the devnet new ' +
        "wallets are funded from the deployer's faucet; elsewhere users send LP and gas to their wallet. " +
        'Programs use API keys made on the account page. `lilypad devnet` starts one too.',
    )
    .addOption(networkOption())
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v: string) => Number(v), 8090)
    .option(
      '--data-dir <path>',
      'where the web app keeps its database (default $LILYPAD_DATA_DIR/web/<network>)',
    )
    .addHelpText(
      'after',
      `${environmentHelp(['LILYPAD_WEB_SECRET', 'LILYPAD_NETWORK', 'LILYPAD_DATA_DIR', 'LILYPAD_LOG_LEVEL'])}
Examples:
  $ lilypad web                        # against the running devnet, on http://127.0.0.1:8090
  $ LILYPAD_WEB_SECRET=… lilypad web --network testnet --host 0.0.0.0 --port 80
`,
    )
    .action(async (flags: Flags) => {
      const [connected] = await networksForService(dataDir(), flags.network ? [flags.network] : []);
      if (!connected) return;
      const logger = createLogger().child({ network: connected.name });
      const web = await startWebServer({
        network: connected.network,
        mediators: connected.mediators,
        dataDir: flags.dataDir ?? join(dataDir(), 'web', connected.name),
        logger,
        faucetPrivateKey: connected.name === DEVNET ? devAccount('deployer').privateKey : undefined,
        secret: env('LILYPAD_WEB_SECRET'),
        host: flags.host,
        port: flags.port,
      });
      process.stdout.write(`Lilypad web app on ${web.url} (network ${connected.name}). Ctrl-C stops it.\n`);
      await untilStopped();
      await web.stop();
      logger.flush();
    });
}
