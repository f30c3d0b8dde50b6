import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { Mediator } from '../../mediator/mediator.js';
import { defaults } from '../../protocol/defaults.js';
import { LilypadError } from '../../protocol/errors.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { networksForService } from '../network.js';
import { parseLpOption, parsePositiveOption, untilStopped } from '../options.js';

type Flags = { network?: string; dataDir?: string; stake: bigint; concurrency: number };

export function registerMediator(program: Command): void {
  program
    .command('mediator')
    .summary('judge challenged jobs by running them again, for the mediation fee')
    .description(
      'Run a mediator: it registers on-chain as a mediator with a stake, follows the deal contract, and ' +
        'for every challenged deal it is drawn for it fetches the module and the job (verified against the ' +
        "deal's commitments), runs it again with the same executor, compares (the result CID for a " +
        'deterministic module, the evidence-of-work traces for one that is not) and posts its verdict ' +
        'before the deadline. The deciding mediators share the fee; a drawn mediator that stays silent ' +
        'loses up to the fee from its stake.\n\n' +
        'Its state (the chain cursor and its verdicts) is kept in <data dir>/mediator/<network>/: after a ' +
        'restart it neither misses a deal it was drawn for nor gives a verdict twice.',
    )
    .addOption(
      new Option(
        '--network <name>',
        'the network: a profile name, or `devnet` (default: the configured one)',
      ).env('LILYPAD_NETWORK'),
    )
    .option(
      '--data-dir <path>',
      'where the mediator keeps its state (default $LILYPAD_DATA_DIR/mediator/<network>)',
    )
    .addOption(
      new Option(
        '--stake <LP>',
        'the stake to keep; deals with a mediation fee above it cannot draw this mediator',
      )
        .argParser(parseLpOption)
        .default(defaults.mediationFee * 100n, '100'),
    )
    .addOption(
      new Option('--concurrency <n>', 'challenged deals judged at once (each runs the job again)')
        .argParser(parsePositiveOption)
        .default(2),
    )
    .addHelpText('after', environmentHelp())
    .addHelpText(
      'after',
      `
Examples:
  $ WEB3_PRIVATE_KEY=0x… lilypad mediator --network devnet
  $ WEB3_PRIVATE_KEY=0x… lilypad mediator --network testnet --stake 500
`,
    )
    .action(async (flags: Flags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const [connected] = await networksForService(dataDir(), flags.network ? [flags.network] : []);
      if (!connected) throw new LilypadError('no network to mediate on', { hint: 'pass --network NAME' });
      const { name, network } = connected;
      const mediator = new Mediator({
        network,
        privateKey,
        dataDir: flags.dataDir ?? join(dataDir(), 'mediator', name),
        logger: createLogger().child({ network: name }),
        stake: flags.stake,
        concurrency: flags.concurrency,
      });
      await mediator.start();
      await untilStopped();
      await mediator.stop();
    });
}
