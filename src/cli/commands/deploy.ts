import { type Command, Option } from 'commander';
import type { Address } from 'viem';
import { publicClientFor, walletClientFor } from '../../chain/clients.js';
import { deployContracts, deployJobs } from '../../chain/deploy.js';
import { LilypadError } from '../../protocol/errors.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { checkProfileName, listProfiles, profilePath, writeProfile } from '../network-profiles.js';
import { parseAddressOption } from '../options.js';

type DeployFlags = {
  rpc: string;
  name?: string;
  solver?: Address;
  bridge?: Address;
  dataDir?: string;
  force: boolean;
};

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .summary('deploy the contracts on an EVM chain and save it as a network profile')
    .description(
      'Deploy the LP token and the deal contract (wired to the token) on any EVM ' +
        'JSON-RPC endpoint, from the WEB3_PRIVATE_KEY account (it receives the whole ' +
        'LP supply). Then write the network profile <data dir>/networks/<name>.json\n' +
        '(chain id, RPC URL, token, deal contract, and the solver if --solver is ' +
        'given, the jobs contract if --bridge is), which every command that talks to a network takes as --network <name>.',
    )
    .addOption(
      new Option('--rpc <url>', 'the JSON-RPC endpoint of the chain')
        .env('WEB3_RPC_URL')
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'the name of the network profile (default: chain-<chain id>)')
    .option(
      '--solver <address>',
      "the solver clients of this network use by default (its URL is read from the chain's registry)",
      parseAddressOption,
    )
    .option(
      '--bridge <address>',
      'also deploy the jobs contract (LilypadJobs) for smart contracts, settled by this account (`lilypad bridge`)',
      parseAddressOption,
    )
    .option('--data-dir <path>', 'where the profile is written (default $LILYPAD_DATA_DIR or ~/.lilypad)')
    .option('--force', 'replace a profile of the same name', false)
    .addHelpText(
      'after',
      `${environmentHelp(['WEB3_PRIVATE_KEY', 'WEB3_RPC_URL', 'LILYPAD_DATA_DIR'])}
Examples:
  $ WEB3_PRIVATE_KEY=0x… lilypad deploy --rpc https://rpc.example.org --name testnet --solver 0x…
  $ lilypad solver --network testnet      # registers its URL on-chain
  $ lilypad run cowsay:v0.0.1 -i Message=moo --network testnet
`,
    )
    .action(async (flags: DeployFlags) => {
      const privateKey = privateKeyFrom(env('WEB3_PRIVATE_KEY'));
      const dir = dataDir(flags.dataDir);
      const rpcUrl = flags.rpc;
      let chainId: number;
      try {
        chainId = await publicClientFor(rpcUrl, 1).getChainId();
      } catch (cause) {
        throw new LilypadError(`cannot reach the JSON-RPC endpoint ${rpcUrl}`, { cause });
      }
      const name = checkProfileName(flags.name ?? `chain-${chainId}`);
      // Checked before deploying, so a name clash costs no gas.
      if (!flags.force && (await listProfiles(dir)).includes(name)) {
        throw new LilypadError(
          `a network profile named "${name}" already exists: ${profilePath(dir, name)}`,
          {
            hint: 'choose another --name, or pass --force to replace it',
          },
        );
      }
      const wallet = walletClientFor(rpcUrl, chainId, privateKey);
      const publicClient = publicClientFor(rpcUrl, chainId);
      const { token, deals, deployBlock } = await deployContracts(wallet, publicClient);
      const jobs = flags.bridge
        ? await deployJobs(wallet, publicClient, { deals, bridge: flags.bridge })
        : undefined;
      const path = await writeProfile(
        dir,
        {
          name,
          chainId,
          rpcUrl,
          token,
          deals,
          deployBlock,
          ...(flags.solver ? { solver: flags.solver } : {}),
          ...(jobs ? { jobs } : {}),
        },
        { overwrite: flags.force },
      );
      const rows = [
        ['Network', `${name} (chain ${chainId})`],
        ['RPC URL', rpcUrl],
        ['LP token', `${token} (supply held by ${wallet.account.address})`],
        ['Deal contract', `${deals} (block ${deployBlock})`],
        ['Jobs contract', jobs ? `${jobs} (bridge ${flags.bridge})` : '(none: --bridge ADDRESS deploys one)'],
        ['Solver', flags.solver ?? '(none: clients set LILYPAD_SOLVER_ADDRESS or LILYPAD_SOLVER_URL)'],
        ['Profile', path],
      ];
      for (const [label, value] of rows) process.stdout.write(`  ${String(label).padEnd(14)} ${value}\n`);
      process.stdout.write(`\nUse it with --network ${name}, e.g. lilypad solver --network ${name}\n`);
    });
}
