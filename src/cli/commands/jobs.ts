/**
 * `lilypad jobs why <job-offer-id>`: asks the solver where a job offer stands (why it waits, or what
 * became of it); `lilypad jobs cancel <job-offer-id>`: withdraws it (signed by its job creator).
 */
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { devAccount } from '../../chain/dev-accounts.js';
import { SolverClient } from '../../protocol/solver-client.js';
import { hashSchema, parseWire } from '../../protocol/wire.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { type ConnectedNetwork, networkOption, networksForService } from '../network.js';

type JobsFlags = { network?: string; dataDir?: string; json: boolean };

/** The solver of the chosen network, as this account (a throwaway one when nothing will be signed). */
async function solverClient(flags: JobsFlags, signer: 'none' | 'job creator'): Promise<SolverClient> {
  const [connected] = (await networksForService(
    dataDir(flags.dataDir),
    flags.network ? [flags.network] : [],
  )) as [ConnectedNetwork];
  const key =
    signer === 'none'
      ? generatePrivateKey()
      : env('WEB3_PRIVATE_KEY')
        ? privateKeyFrom(env('WEB3_PRIVATE_KEY'))
        : devAccount('jobCreator').privateKey;
  // A person is waiting: a solver that does not answer within seconds is reported, not waited for.
  return new SolverClient(connected.network.solverUrl, privateKeyToAccount(key), { retryForMs: 3000 });
}

const jobOfferId = (value: string): Hex => parseWire(hashSchema, value, 'job offer id');

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .summary('ask the solver about your job offers')
    .description('Ask the solver about job offers: why one waits, or withdraw it.');

  const common = (command: Command) =>
    command
      .addOption(networkOption())
      .option('--data-dir <path>', 'where network profiles live (default $LILYPAD_DATA_DIR or ~/.lilypad)')
      .option('--json', 'print the answer as JSON', false);

  common(
    jobs
      .command('why')
      .argument(
        '<job-offer-id>',
        'the id `lilypad run` printed when it posted the offer (0x + 64 hex digits)',
      )
      .summary('why a job offer waits, or what became of it')
      .description(
        'Print where a job offer stands. A job that waits gets the reason nothing fits, e.g. ' +
          '"3 resource offers open, none fits: none has gpu >= 1; 1 asks more than you offer ' +
          '(the cheapest asks 2 LP, you offer at most 1 LP)".',
      )
      .addHelpText('after', environmentHelp(['LILYPAD_NETWORK', 'LILYPAD_SOLVER_URL', 'LILYPAD_DATA_DIR'])),
  ).action(async (id: string, flags: JobsFlags) => {
    const why = await (await solverClient(flags, 'none')).whyJobOffer(jobOfferId(id));
    process.stdout.write(flags.json ? `${JSON.stringify(why)}\n` : `${why.status}: ${why.reason}\n`);
  });

  common(
    jobs
      .command('cancel')
      .argument('<job-offer-id>', 'the job offer to withdraw')
      .summary('withdraw a job offer that is not agreed on-chain yet')
      .addHelpText('after', environmentHelp(['WEB3_PRIVATE_KEY', 'LILYPAD_NETWORK', 'LILYPAD_SOLVER_URL'])),
  ).action(async (id: string, flags: JobsFlags) => {
    const cancelled = await (await solverClient(flags, 'job creator')).cancelJobOffer(jobOfferId(id));
    process.stdout.write(flags.json ? `${JSON.stringify(cancelled)}\n` : `${cancelled.status}\n`);
  });
}
