/**
 * cowsay-docker:v0.0.1 in the real dockerd: the image npm run build:modules built without a registry
 * (scripts/build-cowsay-image.ts), pinned by its ID, prints the same cow as the WASM cowsay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerExecutor } from '../../../src/executors/docker/docker-executor.js';
import type { DockerModuleManifest } from '../../../src/modules/manifest.js';
import { resolveModule } from '../../../src/modules/resolve.js';
import { dockerSkipReason } from '../../executors/docker-fixtures.js';
import { type ModuleRunner, moduleRunner } from './run-module.js';

const MESSAGES = [
  'moo',
  'The quick brown fox jumps over the lazy dog and keeps running far, far away',
  'x'.repeat(50),
  '$(id); `rm -rf /` "quoted" \\backslash',
];

describe.skipIf(dockerSkipReason !== undefined)('cowsay-docker', () => {
  let docker: ModuleRunner;
  let wasm: ModuleRunner;
  beforeAll(async () => {
    docker = await moduleRunner(new DockerExecutor());
    wasm = await moduleRunner();
  });
  afterAll(async () => {
    await docker?.remove();
    await wasm?.remove();
  });

  it('is pinned by the ID of an image this machine has', async () => {
    const { manifest } = await resolveModule('cowsay-docker:v0.0.1');
    expect((manifest as DockerModuleManifest).entry.image).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each(MESSAGES)('prints what the WASM cowsay prints: %s', async (Message) => {
    const inContainer = await docker.run('cowsay-docker:v0.0.1', { Message });
    expect(inContainer.stderr).toBe('');
    expect(inContainer.exitCode).toBe(0);
    const inWasm = await wasm.run('cowsay:v0.0.1', { Message });
    expect(inContainer.stdout).toBe(inWasm.stdout);
  });
});
