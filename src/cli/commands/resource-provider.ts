import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Address, formatEther, type Hex } from 'viem';
import { publicClientFor, walletClientFor } from '../../chain/clients.js';
import { escrowBalance, withdraw } from '../../chain/deals.js';
import { defaults } from '../../protocol/defaults.js';
import { LilypadError } from '../../protocol/errors.js';
import { cidSchema } from '../../protocol/wire.js';
import { type Machine, probeMachine, slotsFor } from '../../resource-provider/capacity.js';
import { statusLines } from '../../resource-provider/metrics.js';
import { formatChecks, preflight } from '../../resource-provider/preflight.js';
import type { ResourceProviderPricing } from '../../resource-provider/pricing.js';
import { ResourceProvider, stateFile } from '../../resource-provider/resource-provider.js';
import { ProviderStore } from '../../resource-provider/state-store.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { createLogger } from '../logger.js';
import { networksForService } from '../network.js';
import { collectAddress, parseCountOption, parseLpOption, untilStopped } from '../options.js';

/** `CID=FIXED[:PER_INSTRUCTION]`, repeatable. */
type ModulePrices = Record<string, [fixed: bigint, perInstruction: bigint | undefined]>;
const modulePrice = (value: string, prices: ModulePrices = {}): ModulePrices => {
  const match = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(value);
  const cid = cidSchema.safeParse(match?.[1]);
  if (!match || !cid.success) {
    throw new InvalidArgumentError(
      `"${value}" is not CID=FIXED or CID=FIXED:PER_INSTRUCTION (amounts in LP)`,
    );
  }
  return {
    ...prices,
    [cid.data]: [
      parseLpOption(match[2] as string),
      match[3] === undefined ? undefined : parseLpOption(match[3]),
    ],
  };
};
const collect = (value: string, list: string[] = []) => [...list, value];

type Flags = {
  network?: string[];
  dataDir?: string;
  slots?: number;
  cpu: number;
  ram: number;
  disk: number;
  gpu: number;
  gpuVram: number;
  machineCpus?: number;
  machineRam?: number;
  machineDisk?: number;
  machineGpus?: number;
  machineGpuVram?: number;
  price: bigint;
  pricePerInstruction: bigint;
  modulePrice: ModulePrices;
  module: string[];
  timeoutCollateral: bigint;
  resultsCollateralMultiple: number;
  mediator: Address[];
  metricsPort?: number;
  check?: boolean;
};

const PRICING_HELP = `
Pricing: what a job pays, and what it puts at stake
  cost = min(P, --price + --price-per-instruction × instructions)   P: the most the job creator pays
  Ts   = --timeout-collateral, locked from agreement until the result is submitted (lost if it is late)
  R    = max(mediation fee, --results-collateral-multiple × cost), locked from submission until the
         deal settles (lost, to the job creator and the mediator, if a mediation finds the result wrong)
  --module-price CID=FIXED[:PER_INSTRUCTION] gives one module a price of its own (its offers name it).

  Example: --price 1 --price-per-instruction 0.000001 --results-collateral-multiple 2, for a job of
  2,000,000 instructions whose creator offers P = 10 LP and a mediation fee of 1 LP:
    cost = min(10, 1 + 0.000001 × 2,000,000) = 3 LP paid to you
    R    = max(1, 2 × 3) = 6 LP locked until the deal settles; Ts = 2 LP locked while the job runs

Capacity: the machine is probed (CPUs, RAM, free disk under --data-dir, NVIDIA GPUs via nvidia-smi);
  --machine-* override what was found. Slots = how many jobs of --cpu/--ram/--disk/--gpu fit at once;
  --slots asks for fewer. One offer stays open per slot; no deal is signed without a free slot.
`;

function pricingOf(flags: Flags): ResourceProviderPricing {
  return {
    fixedPrice: flags.price,
    pricePerInstruction: flags.pricePerInstruction,
    timeoutCollateral: flags.timeoutCollateral,
    resultsCollateralMultipleBps: Math.round(flags.resultsCollateralMultiple * 10_000),
  };
}

async function machineOf(flags: Flags, dir: string): Promise<Machine> {
  await mkdir(dir, { recursive: true });
  const probed = await probeMachine(dir);
  const gpus =
    flags.machineGpus === undefined
      ? probed.gpus
      : Array.from({ length: flags.machineGpus }, (_, i) => ({
          name: `gpu${i}`,
          vramMB: flags.machineGpuVram ?? probed.gpus[i]?.vramMB ?? 0,
        }));
  return {
    cpu: flags.machineCpus === undefined ? probed.cpu : flags.machineCpus * 1000,
    ram: flags.machineRam ?? probed.ram,
    disk: flags.machineDisk ?? probed.disk,
    gpus,
  };
}

const providerDir = (flags: { dataDir?: string }, name: string) =>
  join(flags.dataDir ?? join(dataDir(), 'resource-provider'), name);

export function registerResourceProvider(program: Command): void {
  const rp = defaults.resourceProvider;
  const command = program
    .command('resource-provider')
    .summary('offer this machine to the network and run jobs for pay')
    .description(
      'Run a resource provider: it keeps signed resource offers open at the solver (one per slot), ' +
        'signs the deals proposed for them, runs each job in the executor its module names (WASM or ' +
        'Docker), publishes the result to the directory, submits it on-chain and is paid when the job ' +
        'creator accepts (or stays silent: it settles those deals itself).\n\n' +
        'Its state (offers, deals in flight, results waiting to be paid) is kept in --data-dir: a provider ' +
        'killed at any step takes up every deal where it was when started again. Run --check first.\n\n' +
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
      'where modules, results, blocks and state are kept, a subfolder per network (default $LILYPAD_DATA_DIR/resource-provider)',
    )
    .option('--check', 'check everything the provider needs, print what works and what to fix, and exit')
    .option(
      '--slots <n>',
      'jobs to run at once, on each network (default: as many as the machine fits)',
      parseCountOption,
    )
    .option('--cpu <milli-cpu>', 'CPU offered per job, in thousandths of a core', parseCountOption, 1000)
    .option('--ram <MB>', 'memory offered per job', parseCountOption, 2048)
    .option('--disk <MB>', 'disk offered per job', parseCountOption, 10_240)
    .option('--gpu <n>', 'GPUs offered per job', parseCountOption, 0)
    .option('--gpu-vram <MB>', 'VRAM each offered GPU has at least', parseCountOption, 0)
    .option('--machine-cpus <n>', 'CPU cores of the machine (default: probed)', parseCountOption)
    .option('--machine-ram <MB>', 'RAM of the machine (default: probed)', parseCountOption)
    .option('--machine-disk <MB>', 'free disk for jobs (default: probed under --data-dir)', parseCountOption)
    .option('--machine-gpus <n>', 'GPUs of the machine (default: probed with nvidia-smi)', parseCountOption)
    .option('--machine-gpu-vram <MB>', 'VRAM of each GPU given by --machine-gpus', parseCountOption)
    .addOption(
      new Option('--price <LP>', 'fixed price per job').argParser(parseLpOption).default(rp.fixedPrice, '1'),
    )
    .addOption(
      new Option('--price-per-instruction <LP>', 'price per WASM instruction')
        .argParser(parseLpOption)
        .default(rp.pricePerInstruction, '0'),
    )
    .option(
      '--module-price <CID=FIXED[:PER_INSTRUCTION]>',
      'a price of its own for one module (repeat)',
      modulePrice,
      {},
    )
    .option('--module <CID>', 'run only these modules (repeat; default: any)', collect, [])
    .addOption(
      new Option('--timeout-collateral <LP>', 'collateral lost if a result is not submitted in time')
        .argParser(parseLpOption)
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
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics', parseCountOption)
    .addHelpText('after', `${PRICING_HELP}${environmentHelp()}`)
    .action(async (flags: Flags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const networks = await networksForService(dataDir(), flags.network ?? []);
      if (flags.check) {
        let failed = false;
        for (const { name, network } of networks) {
          const dir = providerDir(flags, name);
          const machine = await machineOf(flags, dir);
          const spec = {
            cpu: flags.cpu,
            ram: flags.ram,
            disk: flags.disk,
            gpu: flags.gpu,
            gpuVram: flags.gpuVram,
          };
          const checks = await preflight({
            network,
            privateKey,
            dataDir: dir,
            spec,
            machine,
            slots: flags.slots ?? slotsFor(machine, spec).slots,
            pricing: pricingOf(flags),
            modules: flags.module,
          });
          process.stdout.write(`${networks.length > 1 ? `${name}:\n` : ''}${formatChecks(checks)}\n`);
          failed ||= checks.some((check) => !check.ok);
        }
        process.stdout.write(
          failed ? 'Some checks failed: fix them and run --check again.\n' : 'All checks passed.\n',
        );
        process.exitCode = failed ? 1 : 0;
        return;
      }
      const logger = createLogger();
      const providers = await Promise.all(
        networks.map(async ({ name, network, mediators }) => {
          const trusted = flags.mediator.length > 0 ? flags.mediator : mediators;
          if (trusted.length === 0) {
            throw new LilypadError(`no mediator to trust on ${name}`, { hint: 'pass --mediator <address>' });
          }
          const dir = providerDir(flags, name);
          const pricing = pricingOf(flags);
          return new ResourceProvider({
            network,
            privateKey,
            dataDir: dir,
            logger: logger.child({ network: name }),
            spec: {
              cpu: flags.cpu,
              ram: flags.ram,
              disk: flags.disk,
              gpu: flags.gpu,
              gpuVram: flags.gpuVram,
            },
            machine: await machineOf(flags, dir),
            pricing,
            modules: flags.module,
            modulePricing: Object.fromEntries(
              Object.entries(flags.modulePrice).map(([cid, [fixed, perInstruction]]) => [
                cid,
                {
                  ...pricing,
                  fixedPrice: fixed,
                  pricePerInstruction: perInstruction ?? pricing.pricePerInstruction,
                },
              ]),
            ),
            mediators: trusted,
            slots: flags.slots,
            // Several networks share one port only if there is one network.
            metricsPort: networks.length === 1 ? flags.metricsPort : undefined,
          });
        }),
      );
      const started = await Promise.allSettled(providers.map((provider) => provider.start()));
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) {
        await Promise.all(providers.map((provider) => provider.stop()));
        throw failed.reason;
      }
      for (const provider of providers) {
        const metrics =
          provider.metricsPort === undefined ? '' : ` metrics on :${provider.metricsPort}/metrics`;
        process.stdout.write(
          `resource provider ${provider.address} ready with ${provider.slots} slot(s)${metrics}\n`,
        );
      }
      await untilStopped();
      await Promise.all(providers.map((provider) => provider.stop()));
    });

  command
    .command('status')
    .summary('jobs running, done, earned, collateral locked')
    .description(
      'What the provider is doing and has earned, per network, from its state in --data-dir (it need not be running): jobs running, done, earned, collateral locked.',
    )
    // --data-dir is the parent command's: `lilypad resource-provider status --data-dir DIR`.
    .action(async (_flags: unknown, status: Command) => {
      const flags = status.optsWithGlobals<{ dataDir?: string }>();
      const root = flags.dataDir ?? join(dataDir(), 'resource-provider');
      const names = existsSync(root)
        ? (await readdir(root)).filter((name) => existsSync(stateFile(join(root, name))))
        : [];
      if (names.length === 0) {
        throw new LilypadError(`no resource provider state under ${root}`, {
          hint: 'start `lilypad resource-provider` first, or pass the --data-dir it uses',
        });
      }
      for (const name of names) {
        const store = new ProviderStore(stateFile(join(root, name)), { readonly: true });
        try {
          const gauges = { ...store.figures(), slots: store.slots(), openOffers: store.offers().length };
          process.stdout.write(
            `${name}:\n${statusLines(gauges)
              .map((line) => `  ${line}`)
              .join('\n')}\n`,
          );
        } finally {
          store.close();
        }
      }
    });

  command
    .command('withdraw')
    .argument('[LP]', 'how much to withdraw (default: all that is free)', parseLpOption)
    .summary('move free escrow balance back to the wallet')
    .description(
      'Move free escrow balance (earnings, and collateral no deal holds) back to the wallet. Collateral locked in deals stays; ' +
        'a running provider needs free balance for its next deals, so withdrawing all of it stops new deals until they settle.',
    )
    // --network is the parent command's: `lilypad resource-provider withdraw --network NAME`.
    .action(async (amount: bigint | undefined, _flags: unknown, withdrawal: Command) => {
      const { network: names = [] } = withdrawal.optsWithGlobals<{ network?: string[] }>();
      if (names.length > 1) throw new LilypadError('withdraw from one network at a time');
      const privateKey: Hex = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const [connected] = await networksForService(dataDir(), names);
      if (!connected) throw new LilypadError('no network to withdraw from');
      const { network } = connected;
      const wallet = walletClientFor(network.rpcUrl, network.chainId, privateKey);
      const client = publicClientFor(network.rpcUrl, network.chainId);
      const { free, locked } = await escrowBalance(client, network, wallet.account.address);
      const asked = amount ?? free;
      if (asked === 0n || asked > free) {
        throw new LilypadError(`cannot withdraw ${formatEther(asked)} LP: ${formatEther(free)} LP is free`, {
          details: `${formatEther(locked)} LP is locked in deals`,
          hint:
            asked === 0n ? 'nothing is free yet: wait for deals to settle' : 'withdraw at most what is free',
        });
      }
      const { hash } = await withdraw(wallet, network, asked);
      process.stdout.write(
        `withdrew ${formatEther(asked)} LP to ${wallet.account.address} (tx ${hash}); ${formatEther(free - asked)} LP free and ${formatEther(locked)} LP locked remain\n`,
      );
    });
}
