import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccount } from '../../chain/dev-accounts.js';
import { buildIfNeeded } from '../../modules/build.js';
import { LilypadError } from '../../protocol/errors.js';
import { SolverClient } from '../../protocol/solver-client.js';
import { memoryBlockstore } from '../../storage/blockstore.js';
import { exportCar } from '../../storage/car.js';
import { importFolder } from '../../storage/unixfs.js';
import { dataDir, env, environmentHelp, privateKeyFrom } from '../environment.js';
import { type ConnectedNetwork, networkOption, networksForService } from '../network.js';
import { DEVNET } from '../network-profiles.js';
import { resolveForAuthor } from './module.js';

type Flags = { network?: string; car?: string };

/** The publisher's key: WEB3_PRIVATE_KEY, else on the local devnet its job creator account (as `lilypad run`). */
function publisherKey(network: string) {
  const key = env('WEB3_PRIVATE_KEY');
  return key === undefined && network === DEVNET ? devAccount('jobCreator').privateKey : privateKeyFrom(key);
}

export function registerModulePublish(module: Command): void {
  module
    .command('publish')
    .summary("upload a module to the network's directory and print its CID")
    .description(
      'Build the module project in PATH if its build/ is missing or older than its sources, import ' +
        'the module folder as UnixFS exactly as the network does, and upload it to the directory of ' +
        "the network's solver, signed by WEB3_PRIVATE_KEY. Prints the CID, the module id: anyone on " +
        'that network can then `lilypad run <CID>`. The solver keeps the module while it was published, ' +
        'or used by a deal, within its --module-retention (publish again to renew it), and counts it ' +
        "against the publisher's upload quota as long. With --car, write the CAR to a file instead, " +
        'for any IPFS node or gateway (no network needed).',
    )
    .argument('[path]', 'the module project or folder', '.')
    .addOption(networkOption())
    .option('--car <file>', 'write the module as a CAR file instead of uploading it')
    .addHelpText(
      'after',
      `${environmentHelp(['WEB3_PRIVATE_KEY', 'LILYPAD_NETWORK', 'WEB3_RPC_URL', 'LILYPAD_DEALS_ADDRESS', 'LILYPAD_SOLVER_ADDRESS', 'LILYPAD_SOLVER_URL', 'LILYPAD_DATA_DIR'])}
  On the local devnet WEB3_PRIVATE_KEY defaults to the devnet's job creator account.

Examples:
  $ lilypad module publish                  # this project, to the configured network (or the devnet)
  $ lilypad module publish ./resize --network testnet
  $ lilypad module publish --car resize.car
`,
    )
    .action(async (path: string, flags: Flags) => {
      // The network first: a publication that cannot be delivered should not wait for a build.
      const names = flags.network === undefined ? [] : [flags.network];
      const connected =
        flags.car === undefined
          ? ((await networksForService(dataDir(), names))[0] as ConnectedNetwork)
          : undefined;
      if (await buildIfNeeded(path)) process.stderr.write(`built ${resolve(path, 'build')}/\n`);
      const resolved = await resolveForAuthor(path, {});
      const blockstore = memoryBlockstore();
      const root = await importFolder(blockstore, resolved.dir);
      const car = await exportCar(blockstore, root);
      const named = `${resolved.manifest.name}:${resolved.manifest.version}`;
      if (connected === undefined) {
        const file = resolve(flags.car as string);
        await writeFile(file, car);
        process.stderr.write(`${named} → ${file}\n`);
      } else {
        const account = privateKeyToAccount(publisherKey(connected.name));
        const solver = new SolverClient(connected.network.solverUrl, account);
        const published = await solver.publishModule(car);
        if (published.cid !== root.toString()) {
          throw new LilypadError(`the solver stored ${published.cid}, not the module ${root}`);
        }
        process.stderr.write(
          `${named} published to ${connected.name} (${solver.url}) by ${account.address}, pinned until at least ${published.pinnedUntil}\n`,
        );
      }
      process.stdout.write(`${root.toString()}\n`);
    });
}
