import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { buildModule } from '../../modules/build.js';
import { runLocally } from '../../modules/local-run.js';
import { resolveModule } from '../../modules/resolve.js';
import { LilypadError } from '../../protocol/errors.js';

export const TESTS_FILE = 'tests.json';

const testsSchema = z.array(
  z.strictObject({
    inputs: z.record(z.string(), z.string()),
    stdout: z.string().optional(),
    exitCode: z.number().int().optional(),
  }),
);

/** Runs `<project>/tests.json` against the built module; returns the failures, one line each. */
async function runTests(
  projectDir: string,
  moduleDir: string,
): Promise<{ count: number; failures: string[] }> {
  const file = join(projectDir, TESTS_FILE);
  if (!existsSync(file)) return { count: 0, failures: [] };
  const parsed = testsSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new LilypadError(`${file} is not a list of { inputs, stdout?, exitCode? }`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'),
    });
  }
  const module = await resolveModule(moduleDir);
  const failures: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'lilypad-tests-'));
  try {
    for (const [i, test] of parsed.data.entries()) {
      const { result, stdout } = await runLocally(module, test.inputs, join(scratch, String(i)));
      const label = `test ${i + 1} (${JSON.stringify(test.inputs)})`;
      if (result.exitCode !== (test.exitCode ?? 0)) {
        failures.push(`${label}: exit code ${result.exitCode}, expected ${test.exitCode ?? 0}`);
      } else if (test.stdout !== undefined && stdout !== test.stdout) {
        failures.push(`${label}: stdout ${JSON.stringify(stdout)}, expected ${JSON.stringify(test.stdout)}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { count: parsed.data.length, failures };
}

export function registerModuleBuild(module: Command): void {
  module
    .command('build')
    .summary('compile a module project into build/ and run its tests')
    .description(
      'Compile the AssemblyScript project in PATH (default: this folder) into PATH/build/, the module ' +
        'folder whose CID is the module id, then run tests.json: each test gives inputs and the ' +
        'expected stdout (and exit code, default 0).',
    )
    .argument('[path]', 'the module project', '.')
    .option('--no-test', 'do not run tests.json')
    .action(async (path: string, flags: { test: boolean }) => {
      const built = await buildModule(path);
      const { cid } = await resolveModule(built.dir);
      process.stdout.write(
        `built ${relative(process.cwd(), built.dir) || '.'}/ (${built.bytes} bytes of wasm): ${cid}\n`,
      );
      if (!flags.test) return;
      const { count, failures } = await runTests(path, built.dir);
      for (const failure of failures) process.stderr.write(`FAIL ${failure}\n`);
      if (failures.length > 0) {
        process.stderr.write(`${failures.length} of ${count} tests failed\n`);
        process.exitCode = 1;
      } else if (count > 0) {
        process.stdout.write(`${count} tests passed\n`);
      }
    });
}
