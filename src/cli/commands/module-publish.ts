import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { memoryBlockstore } from '../../storage/blockstore.js';
import { exportCar } from '../../storage/car.js';
import { importFolder } from '../../storage/unixfs.js';
import { resolveForAuthor } from './module.js';

export function registerModulePublish(module: Command): void {
  module
    .command('publish')
    .summary('pack a module for the directory and print its CID')
    .description(
      "Import the module folder (a project's build/) as UnixFS, exactly as the network does, print " +
        'its CID (the module id: `lilypad run <CID>` runs it) and write it as a CAR file that any ' +
        "IPFS node or gateway can serve. `lilypad run` uploads the module to the solver's directory " +
        'with the first job that uses it.',
    )
    .argument('[path]', 'the module project or folder', '.')
    .option('--car <file>', 'where the CAR goes (default NAME-VERSION.car in this folder)')
    .action(async (path: string, flags: { car?: string }) => {
      const resolved = await resolveForAuthor(path, {});
      const blockstore = memoryBlockstore();
      const root = await importFolder(blockstore, resolved.dir);
      const car = resolve(flags.car ?? `${resolved.manifest.name}-${resolved.manifest.version}.car`);
      await writeFile(car, await exportCar(blockstore, root));
      process.stderr.write(`${resolved.manifest.name}:${resolved.manifest.version} → ${car}\n`);
      process.stdout.write(`${root.toString()}\n`);
    });
}
