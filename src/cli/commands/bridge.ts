import { join } from 'node:path';
import type { Command } from 'commander';
import type { Address } from 'viem';
import { Bridge } from '../../bridge/bridge.js';
import { LilypadError } from '../../protocol/errors.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { networkOption, networksForService } from '../network.js';
import { parseAddressOption, parsePositiveOption, untilStopped } from '../options.js';

type Flags = {
  network?: string;
  jobs?: Address;
  dataDir?: string;
  matchTimeout: number;
  pollInterval: number;
};

export function registerBridge(program: Command): void {
  program
    .command('bridge')
    .summary('run the jobs smart contracts ask for, and call the contracts back')
    .description(
      'Run the bridge of a jobs contract (LilypadJobs): it follows the `JobRequested` events of contracts that ' +
        'call `runJob(module, inputs, maxPrice)`, offers each job to the solver as an ordinary job creator (this ' +
        "account's escrow fronts the deal), downloads and verifies the result, accepts it, and settles the job on " +
        'the jobs contract, which pays this account the cost and calls the contract back with the result CID (or ' +
        'with the failure, refunded). WEB3_PRIVATE_KEY must be the account the jobs contract names as its bridge. ' +
        'Its event cursor and each job’s step are kept in SQLite, so after a crash it resumes every job and calls ' +
        'back exactly once.',
    )
    .addOption(networkOption())
    .option(
      '--jobs <address>',
      'the jobs contract (default $LILYPAD_JOBS_ADDRESS, the profile’s, or the devnet’s)',
      parseAddressOption,
    )
    .option(
      '--data-dir <path>',
      'where the bridge keeps its state and results (default $LILYPAD_DATA_DIR/bridge/<network>)',
    )
    .option(
      '--match-timeout <seconds>',
      'how long a job waits for a match before it fails (NoMatch)',
      parsePositiveOption,
      300,
    )
    .option('--poll-interval <ms>', 'how often the chain is read', parsePositiveOption, 1000)
    .addHelpText(
      'after',
      `${environmentHelp([
        'WEB3_PRIVATE_KEY',
        'LILYPAD_NETWORK',
        'WEB3_RPC_URL',
        'LILYPAD_DEALS_ADDRESS',
        'LILYPAD_SOLVER_ADDRESS',
        'LILYPAD_JOBS_ADDRESS',
        'LILYPAD_DATA_DIR',
        'LILYPAD_LOG_LEVEL',
      ])}
A contract asks for a job (see contracts/README.md):
  uint256 jobId = jobs.runJob("cowsay:v0.0.1", inputs, 2 ether);   // inputs: ["Message=moo"]
and receives ILilypadJobClient.onLilypadResult(jobId, resultCID, status).
`,
    )
    .action(async (flags: Flags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const dir = dataDir();
      const [connected] = await networksForService(dir, flags.network ? [flags.network] : []);
      if (!connected) throw new LilypadError('no network to serve');
      const jobs = flags.jobs ?? connected.network.jobs;
      if (!jobs) {
        throw new LilypadError(`no jobs contract is known for the network "${connected.name}"`, {
          hint: 'pass --jobs ADDRESS (or LILYPAD_JOBS_ADDRESS), or deploy one with `lilypad deploy --bridge ADDRESS`',
        });
      }
      const logger = createLogger().child({ network: connected.name, service: 'bridge' });
      const bridge = new Bridge({
        network: connected.network,
        jobs,
        privateKey,
        dataDir: flags.dataDir ?? join(dir, 'bridge', connected.name),
        logger,
        mediators: connected.mediators,
        matchTimeoutSeconds: flags.matchTimeout,
        pollIntervalMs: flags.pollInterval,
      });
      await bridge.start();
      await untilStopped();
      await bridge.stop();
    });
}
