import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { MANIFEST_FILE } from '../../modules/manifest.js';
import { packageRoot } from '../../modules/registry.js';
import { LilypadError } from '../../protocol/errors.js';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Copies templates/module/ to ./NAME, with NAME as the module's name and artifact. */
export async function initModule(name: string, parent: string): Promise<string> {
  if (!NAME.test(name)) {
    throw new LilypadError(`"${name}" is not a module name`, {
      hint: 'use lower case letters, digits, ".", "_" or "-", e.g. lilypad module init hello',
    });
  }
  const dir = resolve(parent, name);
  if (existsSync(dir)) throw new LilypadError(`${dir} already exists`);
  await cp(join(packageRoot(), 'templates', 'module'), dir, { recursive: true });
  const manifestFile = join(dir, MANIFEST_FILE);
  const manifest = (await readFile(manifestFile, 'utf8')).replaceAll('NAME', name);
  await writeFile(manifestFile, manifest);
  return dir;
}

export function registerModuleInit(module: Command): void {
  module
    .command('init')
    .summary('make a new module project (AssemblyScript)')
    .description(
      'Create the folder NAME with a working AssemblyScript module: lilypad.module.json (its inputs, ' +
        'machine and entry), assembly/index.ts (the program), tests.json (inputs and expected ' +
        'stdout). It builds and passes its tests as it is.',
    )
    .argument('<name>', 'the module name (lower case letters, digits, ".", "_", "-")')
    .addHelpText(
      'after',
      `
Next:
  $ cd NAME && lilypad module build        compile to build/ and run tests.json
  $ lilypad module run . -i Name=you       run it here, no network
  $ lilypad run ./NAME -i Name=you         run it on the network
`,
    )
    .action(async (name: string) => {
      const dir = await initModule(name, process.cwd());
      process.stdout.write(`created ${dir}\nnext: cd ${name} && lilypad module build\n`);
    });
}
