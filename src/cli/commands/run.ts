import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Address } from 'viem';
import { parseCheck, type ResultCheck } from '../../job-creator/check.js';
import { runJob } from '../../job-creator/run-job.js';
import { parseInputPairs } from '../../modules/inputs.js';
import { defaults } from '../../protocol/defaults.js';
import { LilypadError } from '../../protocol/errors.js';
import { dataDir, env, environmentHelp } from '../environment.js';
import { createLogger } from '../logger.js';
import { networkForRun, networkOption } from '../network.js';
import { collectAddress, parseAddressOption, parseLpOption } from '../options.js';
import { describeProgress, progressPrinter } from '../progress-printer.js';

type RunFlags = {
  network?: string;
  input: Record<string, string>;
  maxPrice: bigint;
  mediator: Address[];
  target?: Address;
  dataDir?: string;
  timeout: number;
  check: ResultCheck;
  json: boolean;
  moduleIndex?: string;
  private: boolean;
};

export const collectInput = (value: string, inputs: Record<string, string>) => {
  try {
    return { ...inputs, ...parseInputPairs([value]) };
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
const parseSeconds = (value: string) => {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError(`"${value}" is not a number of seconds`);
  return seconds;
};

/** `--module-index`, else LILYPAD_MODULE_INDEX, as a RunJobOptions/ResolveOptions fragment. */
export function moduleIndexOption(flag: string | undefined): { moduleIndex?: string } {
  const index = flag ?? env('LILYPAD_MODULE_INDEX');
  return index === undefined ? {} : { moduleIndex: index };
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .summary('run a module on the network and fetch its verified result')
    .description(
      'Run MODULE as a job creator: sign a job offer, follow the deal, download the result verifying ' +
        'every block against its CID, accept it on-chain, and print where the result is.\n\n' +
        'MODULE is a name:version from the built-in registry (e.g. cowsay:v0.0.1) or a registry ' +
        'index, a module folder, a git repository and tag (github.com/org/repo:v1.2.0) or a CID. ' +
        'The network is --network NAME (a profile written by `lilypad deploy`), or the ' +
        'one configured in the environment. With none, lilypad uses a `lilypad devnet` ' +
        'running with the same data dir, or else starts an embedded local network for ' +
        'this run and stops it after.',
    )
    .argument('<module>', 'module reference: name:version, a folder, repo:tag or a CID')
    .addOption(networkOption())
    .option(
      '-i, --input <KEY=VALUE>',
      'an input of the module (repeat for several); KEY=@path sends a file or folder',
      collectInput,
      {},
    )
    .option('--module-index <url|file>', 'registry index for name:version (default $LILYPAD_MODULE_INDEX)')
    .addOption(
      new Option('--max-price <LP>', 'the most this job may cost, in LP (locked until the job settles)')
        .argParser(parseLpOption)
        .default(defaults.maxPrice, '10'),
    )
    .option(
      '--mediator <address>',
      "a mediator you trust (repeat for several; default: the network's)",
      collectAddress,
    )
    .option('--target <address>', 'run only on this resource provider', parseAddressOption)
    .option('--data-dir <path>', 'where results are written (default $LILYPAD_DATA_DIR or ~/.lilypad)')
    .addOption(
      new Option('--timeout <seconds>', 'give up if the job has not finished by then')
        .argParser(parseSeconds)
        .default(600),
    )
    .addOption(
      new Option(
        '--check <how>',
        'how to check the result before paying: accept (no check), local (run it again here, challenge on a ' +
          'mismatch), or p=X (challenge with probability X, e.g. p=0.1). A challenge of a correct result costs ' +
          'the mediation fee; a wrong one costs the provider its results collateral',
      )
        .argParser((value: string) => {
          try {
            return parseCheck(value);
          } catch (error) {
            throw new InvalidArgumentError((error as LilypadError).describe());
          }
        })
        .default({ kind: 'accept' }, 'accept'),
    )
    .option(
      '--private',
      "serve the job's file inputs and result only to the deal's members (you, the resource provider and " +
        'the mediators), on signed requests; the module and inline inputs (part of the job offer) stay public',
      false,
    )
    .option('--json', 'print one JSON object with the outcome instead of progress and the result', false)
    .addHelpText(
      'after',
      `${environmentHelp()}
  On the local network WEB3_PRIVATE_KEY defaults to the devnet's job creator account.

Examples:
  $ lilypad run cowsay:v0.0.1 -i Message="moo"
  $ lilypad run cowsay:v0.0.1 -i Message="hello" --json
  $ lilypad run cowsay:v0.0.1 -i Message="moo" --check local
  $ lilypad run cowsay:v0.0.1 -i Message="moo" --check p=0.1
  $ lilypad run github.com/org/resize:v1.2.0 -i Image=@photo.png --private
  $ lilypad run ./modules/my-module -i Width=80 --max-price 2
  $ lilypad run github.com/org/resize:v1.2.0 -i Image=@photo.png
  $ lilypad run cowsay:v0.0.1 -i Message="moo" --network testnet
`,
    )
    .action(async (module: string, flags: RunFlags) => {
      await runCommand(module, flags);
    });
}

async function runCommand(module: string, flags: RunFlags): Promise<void> {
  const dir = dataDir(flags.dataDir);
  const say = flags.json ? () => {} : progressPrinter((line) => process.stderr.write(line));
  const logger = createLogger(join(dir, 'logs', 'run.log'));
  const controller = new AbortController();
  const timeout = setTimeout(
    () => controller.abort(new LilypadError(`the job did not finish within ${flags.timeout} s`)),
    flags.timeout * 1000,
  );
  timeout.unref(); // an error before the job starts must not keep the process waiting for it
  const onSignal = () => controller.abort(new LilypadError('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const run = await networkForRun({
    dataDir: dir,
    logger,
    network: flags.network,
    onEmbeddedStart: () => say('no network configured: starting a local one for this run'),
  });
  try {
    if (run.source === 'devnet') say(`using the devnet at ${run.network.solverUrl}`);
    if (run.source === 'embedded') say(`local network up (solver ${run.network.solverUrl})`);
    const result = await runJob({
      network: run.network,
      privateKey: run.privateKey,
      dataDir: dir,
      module,
      ...moduleIndexOption(flags.moduleIndex),
      inputs: flags.input,
      maxPrice: flags.maxPrice,
      mediationFee: defaults.mediationFee,
      mediators: flags.mediator ?? run.mediators,
      target: flags.target,
      check: flags.check,
      private: flags.private,
      signal: controller.signal,
      onProgress: (event) => say(describeProgress(event)),
    });
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ ...result, network: run.source }, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
      );
    } else {
      process.stdout.write(`\n${result.stdout}${result.stdout.endsWith('\n') ? '' : '\n'}\n`);
      process.stdout.write(`Result: ${result.resultDir}/\n`);
    }
    if (result.state === 'MediationRejected') {
      process.stderr.write('the mediators found the result wrong: do not use it\n');
      process.exitCode = 1;
    } else if (result.exitCode !== 0) {
      process.stderr.write(
        `the job exited with code ${result.exitCode}; see ${join(result.resultDir, 'stderr')}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    clearTimeout(timeout);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await run.stop();
    logger.flush();
  }
}
