/**
 * A module author publishes to the network and anyone runs the module by its CID: `lilypad module
 * publish` (which builds the project first) uploads to a running devnet's directory, and `lilypad run
 * <CID>` fetches the module from there (the project is gone by then) and runs it on the devnet.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, stopCli } from './cli.js';

let dir: string;
let dataDir: string;
let devnet: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-module-publish-'));
  dataDir = join(dir, 'data');
});

afterAll(async () => {
  if (devnet) await stopCli(devnet);
  await rm(dir, { recursive: true, force: true });
});

describe('lilypad module publish', () => {
  it('says how to get a network when none is configured or running', async () => {
    const init = await runCli(['module', 'init', 'greeter'], { LILYPAD_DATA_DIR: dataDir }, 60_000, dir);
    expect(init.code, init.stderr).toBe(0);
    const publish = await runCli(
      ['module', 'publish', join(dir, 'greeter')],
      { LILYPAD_DATA_DIR: dataDir },
      120_000,
    );
    expect(publish.code).toBe(1);
    expect(publish.stderr).toContain('no network is configured and no `lilypad devnet` is running');
    expect(existsSync(join(dir, 'greeter', 'build'))).toBe(false);
  }, 150_000);

  it('builds, uploads to the devnet, and `lilypad run <CID>` runs the module from the directory', async () => {
    devnet = await startCli(
      ['devnet', '--data-dir', dataDir, '--web-port', '0'],
      {},
      /In another terminal/,
      60_000,
    );
    const env = { LILYPAD_DATA_DIR: dataDir };
    const project = join(dir, 'greeter');
    const publish = await runCli(['module', 'publish', project], env, 120_000);
    expect(publish.code, publish.stderr).toBe(0);
    const cid = publish.stdout.trim();
    expect(cid).toMatch(/^bafy[a-z2-7]+$/);
    expect(publish.stderr).toContain(`built ${join(project, 'build')}/`);
    expect(publish.stderr).toMatch(
      /greeter:v0\.0\.1 published to devnet \(http:\/\/127\.0\.0\.1:\d+\) by 0x/,
    );

    // Built already: publishing again renews the pin, with the same CID and no build.
    const again = await runCli(['module', 'publish', project], env, 60_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(cid);
    expect(again.stderr).not.toContain('built ');

    await rm(project, { recursive: true, force: true });
    expect(existsSync(join(dataDir, 'modules', cid))).toBe(false);
    const run = await runCli(['run', cid, '-i', 'Name=moo', '--json'], env, 180_000);
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as { stdout: string; network: string };
    expect(outcome.network).toBe('devnet');
    expect(outcome.stdout).toBe('Hello, moo!\n');
    // The job creator fetched it from the directory (verified, cached by CID).
    expect(existsSync(join(dataDir, 'modules', cid))).toBe(true);
  }, 300_000);
});
