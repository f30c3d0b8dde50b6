import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { runLocally } from '../../modules/local-run.js';
import { resolveForAuthor } from './module.js';
import { collectInput } from './run.js';

export function registerModuleRun(module: Command): void {
  module
    .command('run')
    .summary('run a module on this machine, no network')
    .description(
      'Run the module at REF (a project folder, a module folder, or any reference `lilypad run` takes) ' +
        'here, in the same sandbox a resource provider uses, and print its stdout. The result bundle ' +
        '(stdout, stderr, exitCode, outputs/) is kept in --out.',
    )
    .argument('<ref>', 'the module: a folder (its build/ once built), name:version, repo:tag or a CID')
    .option(
      '-i, --input <KEY=VALUE>',
      'an input (repeat for several); KEY=@path for a file input',
      collectInput,
      {},
    )
    .option('--out <folder>', 'where the result bundle goes (must not exist; default a new temp folder)')
    .option('--module-index <url|file>', 'registry index for name:version (default $LILYPAD_MODULE_INDEX)')
    .addHelpText(
      'after',
      `
Examples:
  $ lilypad module run . -i Name=Lilypad
  $ lilypad module run cowsay:v0.0.1 -i Message=moo --out ./moo
`,
    )
    .action(
      async (ref: string, flags: { input: Record<string, string>; out?: string; moduleIndex?: string }) => {
        const resolved = await resolveForAuthor(ref, flags);
        const bundleDir = flags.out
          ? resolve(flags.out)
          : join(await mkdtemp(join(tmpdir(), 'lilypad-run-')), 'result');
        const { result, stdout } = await runLocally(resolved, flags.input, bundleDir);
        process.stdout.write(stdout);
        const count = result.instructionCount > 0n ? `, ${result.instructionCount} instructions` : '';
        process.stderr.write(
          `${result.status} (exit code ${result.exitCode}${count}); result: ${bundleDir}/\n`,
        );
        if (result.exitCode !== 0) process.exitCode = 1;
      },
    );
}
