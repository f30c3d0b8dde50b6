/** A module author's path through the real CLI: init, build (with its tests), run, info, publish, modules. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { importCar } from '../../src/storage/car.js';
import { runCli } from './cli.js';

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-module-cli-'));
  env = { LILYPAD_DATA_DIR: join(dir, 'data') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inDir = (cwd: string, args: string[]) => runCli(args, env, 180_000, cwd);

describe('lilypad module', () => {
  it('init makes a project that builds, passes its tests, runs, and describes itself', async () => {
    const init = await inDir(dir, ['module', 'init', 'hello']);
    expect(init.code, init.stderr).toBe(0);
    const project = join(dir, 'hello');

    const build = await inDir(project, ['module', 'build']);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/built build\/ \(\d+ bytes of wasm\): bafy/);
    expect(build.stdout).toContain('2 tests passed');

    const run = await inDir(project, ['module', 'run', '.', '-i', 'Name=moo', '--out', join(dir, 'out')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('Hello, moo!\n');
    expect(await readFile(join(dir, 'out', 'exitCode'), 'utf8')).toBe('0\n');
    // Inputs are validated with the manifest's rules, naming the input.
    const long = await inDir(project, ['module', 'run', '.', '-i', `Name=${'x'.repeat(101)}`]);
    expect(long.code).toBe(1);
    expect(long.stderr).toContain('input "Name" is too long: 101 characters, at most 100 (maxLength 100)');

    const info = await inDir(project, ['module', 'info', '.']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain('Name (string, default "world", at most 100 characters): Who to greet.');
    expect(info.stdout).toMatch(/instructions +\d+ with the default inputs \(succeeded\)/);
    expect(info.stdout).toContain('deterministic   yes');

    const publish = await inDir(project, ['module', 'publish', '--car', join(dir, 'hello.car')]);
    expect(publish.code, publish.stderr).toBe(0);
    const cid = publish.stdout.trim();
    expect(build.stdout).toContain(cid);
    const roots = await importCar(memoryBlockstore(), await readFile(join(dir, 'hello.car')));
    expect(roots.map(String)).toEqual([cid]);

    // A failing test fails the build, saying which.
    await writeFile(join(project, 'tests.json'), JSON.stringify([{ inputs: {}, stdout: 'Bye\n' }]));
    const failing = await inDir(project, ['module', 'build']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('FAIL test 1 ({}): stdout "Hello, world!\\n", expected "Bye\\n"');
  }, 300_000);

  it('refuses a bad name and an existing folder', async () => {
    const bad = await inDir(dir, ['module', 'init', 'Hello World']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"Hello World" is not a module name');
  });

  it('lists the catalogue and describes a built-in module', async () => {
    const list = await inDir(dir, ['modules']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^cowsay:v0\.0\.1 +wasm +Prints a message/m);
    const info = await inDir(dir, ['module', 'info', 'cowsay:v0.0.1']);
    expect(info.stdout).toContain('Message (string, default "Hello, Lilypad!", at most 4096 characters)');
  }, 60_000);
});
