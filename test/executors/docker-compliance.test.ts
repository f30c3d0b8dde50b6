/**
 * The compliance suite on the Docker executor. Every fixture is a busybox command line in the test
 * image (built without a registry by scripts/build-test-images.ts); inputs reach the commands as
 * positional parameters and environment values, never as part of the script.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerClient } from '../../src/executors/docker/docker-client.js';
import { DockerExecutor } from '../../src/executors/docker/docker-executor.js';
import { type DockerModuleManifest, MANIFEST_FILE, parseManifest } from '../../src/modules/manifest.js';
import { type ComplianceFixture, type ComplianceFixtures, runExecutorCompliance } from './compliance.js';
import { busyboxManifest, dockerSkipReason, testImage } from './docker-fixtures.js';

const message = { Message: { type: 'string', description: 'a message' } } as const;

/** `sh -c script name Message`: the message is $1. */
const withMessage = (script: string): DockerModuleManifest['entry']['args'] => [
  '/bin/sh',
  '-c',
  script,
  'fixture',
  { input: 'Message' },
];

const NETWORK_PROBE =
  'for i in /sys/class/net/*; do [ "$i" = /sys/class/net/lo ] || up=1; done; ' +
  'if [ -n "$up" ] || echo | nc -w 2 1.1.1.1 53 >/dev/null 2>&1; then echo "network: reachable"; exit 1; fi; ' +
  'echo "network: unreachable"';

runExecutorCompliance('docker', async () => {
  if (dockerSkipReason !== undefined) return { skip: dockerSkipReason };
  const { id } = await testImage();
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-docker-fixtures-'));
  const fixture = async (
    name: string,
    args: DockerModuleManifest['entry']['args'],
    more: Partial<Pick<DockerModuleManifest, 'inputs'>> & { env?: Record<string, { input: string }> } = {},
  ): Promise<ComplianceFixture> => {
    const moduleDir = join(dir, name);
    await mkdir(moduleDir);
    const manifest = parseManifest(
      busyboxManifest(id, args, {
        name: `compliance-${name.toLowerCase()}`,
        inputs: more.inputs ?? {},
        spec: { cpu: 500, gpu: 0, gpuVram: 0, ram: 256, disk: 16 },
        timeoutSeconds: 30,
        ...(more.env ? { entry: { env: more.env } } : {}),
      }),
    );
    await writeFile(join(moduleDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return { moduleDir, manifest };
  };
  const fixtures: ComplianceFixtures = {
    echo: await fixture('echo', withMessage('printf "arg: %s\\nenv: %s\\n" "$1" "$MESSAGE"'), {
      inputs: message,
      env: { MESSAGE: { input: 'Message' } },
    }),
    exit: await fixture('exit', ['/bin/sh', '-c', 'exit "$1"', 'fixture', { input: 'Code' }], {
      inputs: { Code: { type: 'integer', description: 'the exit code', min: 0, max: 255 } },
    }),
    stderr: await fixture('stderr', withMessage('printf "%s\\n" "$1" >&2'), { inputs: message }),
    copyInputs: await fixture('copyInputs', [
      '/bin/sh',
      '-c',
      'for f in /inputs/*; do if [ -f "$f" ]; then cp "$f" /outputs/ || exit 1; fi; done',
    ]),
    network: await fixture('network', ['/bin/sh', '-c', NETWORK_PROBE]),
    sleep: await fixture('sleep', ['/bin/sleep', '3600']),
    memoryBomb: await fixture('memoryBomb', [
      '/bin/sh',
      '-c',
      'x=$(head -c 4000000000 /dev/zero | tr "\\0" a)',
    ]),
    flood: await fixture('flood', ['/bin/yes', 'lilypad']),
    deterministic: await fixture(
      'deterministic',
      withMessage('printf "said: %s\\n" "$1"; printf "%s" "$1" | sha256sum > /outputs/digest'),
      { inputs: message },
    ),
  };
  const client = new DockerClient();
  return {
    executor: new DockerExecutor({ client }),
    fixtures,
    // Covers the container's start-up and two stats samples (the daemon's collector ticks once a second).
    wallTimeMs: 3_000,
    teardown: async () => {
      client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
