import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { walletClientFor } from '../../chain/clients.js';
import { Role } from '../../chain/deals.js';
import { registerService } from '../../chain/registry.js';
import { defaultSolverLimits, Solver } from '../../solver/solver.js';
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
  uploadQuota: number;
  maxUpload: number;
  retention: number;
  moduleRetention: number;
};

const sizeUnits: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
for (const [unit, power] of [
  ['kib', 1],
  ['mib', 2],
  ['gib', 3],
  ['tib', 4],
] as const)
  sizeUnits[unit] = 1024 ** power;

/** "2GiB", "500MB", "1048576": a byte count. */
export function parseSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = sizeUnits[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined)
    throw new InvalidArgumentError(`"${value}" is not a size: write a number of bytes, or e.g. 500MB, 2GiB`);
  return Math.floor(Number(match[1]) * unit);
}

const durationUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "7d", "12h", "30m", "45s": milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`"${value}" is not a duration: write e.g. 45s, 30m, 12h or 7d`);
  return Math.round(Number(match[1]) * (durationUnits[(match[2] as string).toLowerCase()] as number));
}

const gib = (bytes: number) => `${bytes / 1024 ** 3}GiB`;
const mib = (bytes: number) => `${bytes / 1024 ** 2}MiB`;
const days = (ms: number) => `${ms / 86_400_000}d`;

export function registerSolver(program: Command): void {
  program
    .command('solver')
    .summary('match job offers with resource offers and host the directory')
    .description(
      'Run a solver: it accepts EIP-712-signed job and resource offers, matches them, collects both ' +
        'signatures on each deal and submits it on-chain, pushes events to the parties over WebSocket, ' +
        'and hosts the directory of inputs and results as an IPFS trustless gateway (GET /ipfs/<cid>). ' +
        "At start it registers its URL (--url) in the users' registry on-chain, where " +
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
    .addOption(
      new Option(
        '--upload-quota <size>',
        'most bytes one address may keep in the directory, over the deals whose content is still kept',
      )
        .argParser(parseSize)
        .default(defaultSolverLimits.uploadQuotaBytes, gib(defaultSolverLimits.uploadQuotaBytes)),
    )
    .addOption(
      new Option('--max-upload <size>', 'largest CAR one upload may carry')
        .argParser(parseSize)
        .default(defaultSolverLimits.maxUploadBytes, mib(defaultSolverLimits.maxUploadBytes)),
    )
    .addOption(
      new Option(
        '--retention <duration>',
        'how long the content of a settled or cancelled deal is kept before it is collected',
      )
        .argParser(parseDuration)
        .default(defaultSolverLimits.retentionMs, days(defaultSolverLimits.retentionMs)),
    )
    .addOption(
      new Option(
        '--module-retention <duration>',
        'how long a published module stays pinned after it was published or last used by a deal',
      )
        .argParser(parseDuration)
        .default(defaultSolverLimits.moduleRetentionMs, days(defaultSolverLimits.moduleRetentionMs)),
    )
    .addHelpText(
      'after',
      `
The directory:
  The job creator and the resource provider of a deal (nobody else) upload its inputs and results
  as CAR files; anyone reads them back from GET /ipfs/<cid>. Uploads count against the uploader's
  --upload-quota (default ${gib(defaultSolverLimits.uploadQuotaBytes)}) for as long as their deal's content is kept: while the deal
  runs, then for --retention (default ${days(defaultSolverLimits.retentionMs)}) after it settles or is cancelled. Then the
  content is collected (unless another kept deal links to the same blocks) and the quota is free.
  One upload carries at most --max-upload (default ${mib(defaultSolverLimits.maxUploadBytes)}).
  Anyone may also publish a module outside any deal (\`lilypad module publish\`: a signed CAR of one
  module folder whose lilypad.module.json parses). It counts against the publisher's --upload-quota and
  stays pinned while it was published, or used by a deal, within --module-retention (default ${days(defaultSolverLimits.moduleRetentionMs)}).
  Sizes: a number of bytes, or with a unit (500MB, 2GiB). Durations: 45s, 30m, 12h, 7d.

Example:
  lilypad solver --url https://solver.example.org --upload-quota 10GiB --retention 30d
` +
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
        limits: {
          uploadQuotaBytes: flags.uploadQuota,
          maxUploadBytes: flags.maxUpload,
          retentionMs: flags.retention,
          moduleRetentionMs: flags.moduleRetention,
        },
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
