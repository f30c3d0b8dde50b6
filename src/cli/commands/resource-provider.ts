import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseEther } from 'viem';
import { defaults } from '../../protocol/defaults.js';
import { LilypadError } from '../../protocol/errors.js';
import { ResourceProvider } from '../../resource-provider/resource-provider.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { networksForService } from '../network.js';
import { collectAddress, untilStopped } from '../options.js';

const count = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return n;
};
const lp = (value: string) => {
  if (!/^\d+(\.\d{1,18})?$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an amount of LP`);
  return parseEther(value);
};

type Flags = {
  network?: string[];
  dataDir?: string;
  slots: number;
  cpu: number;
  ram: number;
  disk: number;
  gpu: number;
  gpuVram: number;
  price: bigint;
  pricePerInstruction: bigint;
  timeoutCollateral: bigint;
  resultsCollateralMultiple: number;
  mediator: `0x${string}`[];
};

export function registerResourceProvider(program: Command): void {
  const rp = defaults.resourceProvider;
  program
    .command('resource-provider')
    .summary('offer this machine to the network and run jobs for pay')
    .description(
      'Run a resource provider: it keeps signed resource offers open at the solver (one per slot), ' +
        'signs the deals proposed for them, runs each job in the executor its module names (WASM or ' +
        'Docker), publishes the result to the directory, submits it on-chain and is paid when the job ' +
        'creator accepts (or stays silent).\n\n' +
        'One process can serve several networks (--network a --network b): with one ' +
        'key, it keeps the offers, escrow, deals and state of each network apart, and ' +
        'runs up to --slots jobs on each.',
    )
    .addOption(
      new Option(
        '--network <name>',
        'a network to serve: a profile name, or `devnet` (repeat to serve several; default: the configured one, else the local devnet)',
      )
        .env('LILYPAD_NETWORK')
        .argParser((name: string, names: string[] = []) => [...names, name]),
    )
    .option(
      '--data-dir <path>',
      'where modules, results and blocks are kept, a subfolder per network (default $LILYPAD_DATA_DIR/resource-provider)',
    )
    .option('--slots <n>', 'jobs to run at once, on each network', count, 1)
    .option('--cpu <milli-cpu>', 'CPU offered per job, in thousandths of a core', count, 1000)
    .option('--ram <MB>', 'memory offered per job', count, 2048)
    .option('--disk <MB>', 'disk offered per job', count, 10_240)
    .option('--gpu <n>', 'GPUs offered per job', count, 0)
    .option('--gpu-vram <MB>', 'VRAM of the largest GPU', count, 0)
    .addOption(new Option('--price <LP>', 'fixed price per job').argParser(lp).default(rp.fixedPrice, '1'))
    .addOption(
      new Option('--price-per-instruction <LP>', 'price per WASM instruction')
        .argParser(lp)
        .default(rp.pricePerInstruction, '0'),
    )
    .addOption(
      new Option('--timeout-collateral <LP>', 'collateral lost if a result is not submitted in time')
        .argParser(lp)
        .default(rp.timeoutCollateral, '2'),
    )
    .option(
      '--results-collateral-multiple <x>',
      'results collateral as a multiple of the job cost',
      Number,
      rp.resultsCollateralMultipleBps / 10_000,
    )
    .option(
      '--mediator <address>',
      "a mediator you trust (repeat; default: the solver's suggestions)",
      collectAddress,
      [],
    )
    .addHelpText('after', environmentHelp())
    .action(async (flags: Flags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const networks = await networksForService(dataDir(), flags.network ?? []);
      const logger = createLogger();
      const providers = networks.map(({ name, network, mediators }) => {
        const trusted = flags.mediator.length > 0 ? flags.mediator : mediators;
        if (trusted.length === 0) {
          throw new LilypadError(`no mediator to trust on ${name}`, { hint: 'pass --mediator <address>' });
        }
        return new ResourceProvider({
          network,
          privateKey,
          dataDir: join(flags.dataDir ?? join(dataDir(), 'resource-provider'), name),
          logger: logger.child({ network: name }),
          spec: { cpu: flags.cpu, ram: flags.ram, disk: flags.disk, gpu: flags.gpu, gpuVram: flags.gpuVram },
          pricing: {
            fixedPrice: flags.price,
            pricePerInstruction: flags.pricePerInstruction,
            timeoutCollateral: flags.timeoutCollateral,
            resultsCollateralMultipleBps: Math.round(flags.resultsCollateralMultiple * 10_000),
          },
          mediators: trusted,
          slots: flags.slots,
        });
      });
      const started = await Promise.allSettled(providers.map((provider) => provider.start()));
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) {
        await Promise.all(providers.map((provider) => provider.stop()));
        throw failed.reason;
      }
      await untilStopped();
      await Promise.all(providers.map((provider) => provider.stop()));
    });
}
