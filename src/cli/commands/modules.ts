import type { Command } from 'commander';
import { builtinModules } from '../../modules/registry.js';
import { resolveModule } from '../../modules/resolve.js';

export function registerModules(program: Command): void {
  program
    .command('modules')
    .summary('list the built-in modules')
    .description('List the modules that ship with lilypad: name:version, what it does and its executor.')
    .action(async () => {
      const rows: string[][] = [];
      for (const ref of builtinModules()) {
        try {
          const { manifest } = await resolveModule(ref);
          rows.push([ref, manifest.executor, manifest.description]);
        } catch {
          rows.push([ref, '-', '(not built: npm run build)']);
        }
      }
      const width = Math.max(...rows.map((row) => (row[0] as string).length));
      for (const [ref, executor, description] of rows) {
        process.stdout.write(
          `${(ref as string).padEnd(width)}  ${(executor as string).padEnd(6)}  ${description}\n`,
        );
      }
      process.stdout.write(
        '\nlilypad module info NAME:VERSION shows inputs and machine; lilypad run NAME:VERSION runs one.\n',
      );
    });
}
