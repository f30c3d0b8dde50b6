/**
 * The Docker executor's overhead around a trivial container (`true` in the busybox test image, image
 * present): create, attach, start, wait, inspect, remove, and the bundle and trace written. The
 * median of 10 runs after one warm-up. Nothing when Docker is not running here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImage } from '../scripts/build-test-images.js';
import { DockerClient } from '../src/executors/docker/docker-client.js';
import { DockerExecutor } from '../src/executors/docker/docker-executor.js';
import type { DockerModuleManifest } from '../src/modules/manifest.js';

export const name = 'executors-docker';
const RUNS = 10;

export async function run(): Promise<Record<string, number>> {
  const client = new DockerClient();
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-docker-'));
  try {
    try {
      await client.ping({ signal: AbortSignal.timeout(3000) });
    } catch (error) {
      process.stderr.write(`bench ${name} skipped: ${(error as Error).message}\n`);
      return {};
    }
    const image = await ensureTestImage(client);
    const executor = new DockerExecutor({ client });
    const manifest: DockerModuleManifest = {
      name: 'trivial',
      version: 'v0',
      description: 'does nothing',
      executor: 'docker',
      entry: { image: image.id, args: ['/bin/true'] },
      inputs: {},
      spec: { cpu: 1000, gpu: 0, gpuVram: 0, ram: 64, disk: 16 },
      timeoutSeconds: 30,
      deterministic: true,
    };
    const once = async (i: number) => {
      const started = performance.now();
      const result = await executor.run({
        moduleDir: dir,
        manifest,
        inputs: {},
        seed: '0x00',
        bundleDir: join(dir, `bundle-${i}`),
      });
      if (result.status !== 'succeeded') throw new Error(`the trivial container ${result.status}`);
      return performance.now() - started;
    };
    await once(-1);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await once(i));
    times.sort((a, b) => a - b);
    const median = ((times[(RUNS - 1) >> 1] as number) + (times[RUNS >> 1] as number)) / 2;
    return { docker_job_overhead_ms: Math.round(median) };
  } finally {
    client.close();
    await rm(dir, { recursive: true, force: true });
  }
}
