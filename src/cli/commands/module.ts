/**
 * `lilypad module …`: the module author's commands (init, build, run, publish, info), one file each,
 * and the references they share.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { moduleFolderOf } from '../../modules/build.js';
import { type ResolvedModule, resolveModule } from '../../modules/resolve.js';
import { dataDir } from '../environment.js';
import { registerModuleBuild } from './module-build.js';
import { registerModuleInfo } from './module-info.js';
import { registerModuleInit } from './module-init.js';
import { registerModulePublish } from './module-publish.js';
import { registerModuleRun } from './module-run.js';
import { moduleIndexOption } from './run.js';

/** Resolves REF as `lilypad run` does; a project folder means its build/ folder once built. */
export async function resolveForAuthor(
  ref: string,
  flags: { moduleIndex?: string },
): Promise<ResolvedModule> {
  const { moduleIndex } = moduleIndexOption(flags.moduleIndex);
  return resolveModule(moduleFolderOf(ref), {
    cacheDir: join(dataDir(), 'modules'),
    ...(moduleIndex === undefined ? {} : { index: moduleIndex }),
  });
}

export function registerModule(program: Command): void {
  const module = program
    .command('module')
    .summary('write, build, run and publish modules')
    .description(
      'Tools for module authors: make a project (init), compile it (build, which also runs its ' +
        "tests.json), run it on this machine without a network (run), upload it to the network's " +
        'directory so anyone can run it by its CID (publish), and show what a module takes and needs (info).',
    );
  registerModuleInit(module);
  registerModuleBuild(module);
  registerModuleRun(module);
  registerModulePublish(module);
  registerModuleInfo(module);
}
