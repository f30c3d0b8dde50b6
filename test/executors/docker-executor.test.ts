/**
 * The Docker executor against a real daemon and the busybox test image, beyond the compliance suite
 * (docker-compliance.test.ts): the sandbox (no network, read-only root, nobody, no capabilities), what
 * outputs may hold, every limit as Docker enforces it, the CPU trace, and the container removed
 * whatever the ending.
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/executors/docker/docker-client.js';
import { CONTAINER_LABEL, DockerExecutor } from '../../src/executors/docker/docker-executor.js';
import type { ExecutionJob, ExecutionProgress } from '../../src/executors/executor.js';
import { readTrace } from '../../src/executors/trace.js';
import type { DockerModuleManifest } from '../../src/modules/manifest.js';
import { busyboxManifest, dockerSkipReason, shellManifest, testImage } from './docker-fixtures.js';

describe.skipIf(dockerSkipReason !== undefined)('Docker executor', () => {
  let work: string;
  let imageId: string;
  let client: DockerClient;
  let executor: DockerExecutor;
  let jobs = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lilypad-docker-'));
    imageId = (await testImage()).id;
    client = new DockerClient();
    executor = new DockerExecutor({ client });
  });

  afterAll(async () => {
    client?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs a job with a seed of its own, so that its containers can be found by label afterwards. */
  async function run(
    manifest: DockerModuleManifest,
    job: Partial<ExecutionJob> = {},
    options: Parameters<DockerExecutor['run']>[1] = {},
    using: DockerExecutor = executor,
  ) {
    const n = jobs++;
    const seed = `0x${process.pid.toString(16).padStart(8, '0')}${n.toString(16).padStart(8, '0')}`;
    const bundleDir = join(work, `bundle-${n}`);
    const result = await using.run(
      { moduleDir: work, manifest, inputs: {}, seed, bundleDir, ...job },
      options,
    );
    const read = (name: string) => readFile(join(bundleDir, name), 'utf8');
    const left = await client.listContainers({ labels: [CONTAINER_LABEL, `org.lilypad.seed=${seed}`] });
    return {
      result,
      bundleDir,
      stdout: await read('stdout'),
      stderr: await read('stderr'),
      exitCodeFile: await read('exitCode'),
      containersLeft: left.length,
    };
  }

  it('mounts the inputs read-only at /inputs and collects /outputs', async () => {
    const inputsDir = join(work, 'inputs');
    await mkdir(inputsDir, { recursive: true });
    await writeFile(join(inputsDir, 'data.txt'), 'input bytes\n');
    const { result, bundleDir, stderr } = await run(
      shellManifest(
        imageId,
        'cp /inputs/data.txt /outputs/copy.txt; mkdir /outputs/sub; echo nested > /outputs/sub/file; ' +
          'touch /inputs/new || true; ln -s /etc/passwd /outputs/link',
      ),
      { inputsDir },
    );
    expect(result.status).toBe('succeeded');
    expect(stderr).toMatch(/Read-only file system/);
    expect(await readFile(join(bundleDir, 'outputs', 'copy.txt'), 'utf8')).toBe('input bytes\n');
    expect(await readFile(join(bundleDir, 'outputs', 'sub', 'file'), 'utf8')).toBe('nested\n');
    // A symbolic link could point anywhere on this machine: it is not part of the result.
    expect((await readdir(join(bundleDir, 'outputs'))).sort()).toEqual(['copy.txt', 'sub']);
    expect(result.message).toMatch(/removed from outputs .*link/);

    const empty = await run(shellManifest(imageId, 'ls -A /inputs | wc -l; touch /inputs/x'));
    expect(empty.stdout.trim()).toBe('0');
    expect(empty.result.status).toBe('failed');
  });

  it('gives the job no network', async () => {
    // Something listening on the host, where a container on Docker's bridge could reach it.
    const server: Server = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((done) => server.listen(0, '0.0.0.0', done));
    const port = (server.address() as { port: number }).port;
    const gateway = networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address;
    const probe = (host: string) => `echo probe | nc -w 2 ${host} ${port} && echo "reached ${host}"; `;
    try {
      const { stdout } = await run(
        shellManifest(
          imageId,
          `ls /sys/class/net; ${probe('127.0.0.1')}${gateway ? probe(gateway) : ''}true`,
        ),
      );
      expect(stdout).toBe('lo\n');

      if (gateway) {
        // The same probe from a container on the bridge does reach the host: the test can tell.
        const { Id } = await client.createContainer({
          Image: imageId,
          Cmd: ['/bin/sh', '-c', probe(gateway)],
          Labels: { 'org.lilypad.test': 'network-control' },
          HostConfig: { NetworkMode: 'bridge', LogConfig: { Type: 'json-file' } },
        });
        try {
          await client.startContainer(Id);
          await client.waitContainer(Id);
          let logs = '';
          for await (const frame of await client.logs(Id)) logs += frame.data.toString();
          expect(logs).toContain(`hello\nreached ${gateway}`);
        } finally {
          await client.removeContainer(Id);
        }
      }
    } finally {
      server.close();
    }
  });

  it('runs as nobody on a read-only root, with a small writable /tmp and no capabilities', async () => {
    const nobody = await run(
      shellManifest(imageId, 'id -u; id -g; touch /etc/x || echo ro; echo t > /tmp/t && cat /tmp/t'),
    );
    expect(nobody.stdout).toBe('65534\n65534\nro\nt\n');
    expect(nobody.stderr).toMatch(/Read-only file system/);

    // Root when the manifest asks for it, still without capabilities: chown needs CAP_CHOWN.
    const root = shellManifest(imageId, 'id -u; touch /tmp/f; chown 1 /tmp/f || echo denied', {
      entry: { user: '0:0' },
    });
    expect((await run(root)).stdout).toBe('0\ndenied\n');
  });

  it('kills a job at its wall-time limit', async () => {
    const started = performance.now();
    const { result, stdout, exitCodeFile, containersLeft } = await run(
      shellManifest(imageId, 'echo started; sleep 30'),
      { limits: { wallTimeMs: 700 } },
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ status: 'timed-out', exitCode: 124 });
    expect([stdout, exitCodeFile]).toEqual(['started\n', '124\n']);
    expect(containersLeft).toBe(0);
  });

  it('stops a job when its signal aborts, and does not start one that is already cancelled', async () => {
    const controller = new AbortController();
    const events: ExecutionProgress['type'][] = [];
    const onProgress = (event: ExecutionProgress) => {
      events.push(event.type);
      if (event.type === 'execution:started') setTimeout(() => controller.abort(), 300);
    };
    const started = performance.now();
    const { result, containersLeft } = await run(
      shellManifest(imageId, 'sleep 30'),
      {},
      { signal: controller.signal, onProgress },
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ status: 'cancelled', exitCode: 130 });
    expect(events).toEqual(['execution:started', 'execution:finished']);
    expect(containersLeft).toBe(0);

    const before = await run(shellManifest(imageId, 'echo never'), {}, { signal: AbortSignal.abort() });
    expect(before.result).toMatchObject({ status: 'cancelled', exitCode: 130 });
    expect(before.stdout).toBe('');
  });

  it('reports out-of-memory when the job passes its memory limit', async () => {
    const { result, containersLeft } = await run(
      shellManifest(imageId, 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo "$x" | wc -c', {
        spec: { cpu: 500, gpu: 0, gpuVram: 0, ram: 16, disk: 16 },
      }),
    );
    expect(result).toMatchObject({ status: 'out-of-memory', exitCode: 137 });
    expect(containersLeft).toBe(0);
  });

  it('cuts stdout and stderr at the output limit and stops the job', async () => {
    const { result, stdout, stderr, containersLeft } = await run(shellManifest(imageId, 'yes lilypad'), {
      limits: { outputBytes: 10_000 },
    });
    expect(result).toMatchObject({ status: 'output-limit', exitCode: 153 });
    expect(stdout.length + stderr.length).toBe(10_000);
    expect(stdout.startsWith('lilypad\nlilypad\n')).toBe(true);
    expect(containersLeft).toBe(0);
  });

  it('stops at the file limit and keeps no partial outputs', async () => {
    const { result, bundleDir } = await run(
      shellManifest(imageId, 'head -c 3000000 /dev/zero > /outputs/big; echo done', {
        spec: { cpu: 500, gpu: 0, gpuVram: 0, ram: 32, disk: 1 },
      }),
    );
    expect(result).toMatchObject({ status: 'file-limit', exitCode: 153 });
    expect(await readdir(join(bundleDir, 'outputs'))).toEqual([]);
  });

  it('limits the number of processes', async () => {
    const small = new DockerExecutor({ client, pidsLimit: 8 });
    const { stderr } = await run(
      shellManifest(imageId, 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done; wait'),
      {},
      {},
      small,
    );
    expect(stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  });

  it('fails like a shell when the command does not exist', async () => {
    const { result, containersLeft } = await run(busyboxManifest(imageId, ['/no/such/program']));
    expect(result).toMatchObject({ status: 'failed', exitCode: 127 });
    expect(containersLeft).toBe(0);
  });

  it('writes a trace of CPU and memory samples beside the bundle', async () => {
    const { result, bundleDir } = await run(
      shellManifest(imageId, 'end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done'),
    );
    expect(result.status).toBe('succeeded');
    expect(result.traceFile).toBe(`${bundleDir}.trace.json`);
    const trace = await readTrace(result.traceFile);
    expect(trace).toEqual(result.trace);
    expect(trace.instructionCount).toBeUndefined();
    expect(trace.wallTimeMs).toBeGreaterThanOrEqual(2000);
    expect(trace.samples.length).toBeGreaterThanOrEqual(2);
    for (const [i, sample] of trace.samples.entries()) {
      expect(sample.tMs % trace.samplePeriodMs).toBe(0);
      expect(sample.memoryBytes).toBeGreaterThan(0);
      if (i > 0) expect(sample.cpu).toBeGreaterThanOrEqual(trace.samples[i - 1]?.cpu ?? 0);
    }
    expect(trace.samples.at(-1)?.cpu).toBeGreaterThan(100); // a busy loop at half a CPU
    expect(trace.memoryPeakBytes).toBeGreaterThan(0);
  });

  // Where the machine has an NVIDIA GPU and Docker has the NVIDIA container toolkit: the GPU shows up.
  it.skipIf(!existsSync('/dev/nvidia0') || !existsSync('/usr/bin/nvidia-container-cli'))(
    'hands the container the GPUs the spec asks for',
    async () => {
      const { result, stdout } = await run(
        shellManifest(imageId, 'ls /dev | grep -c "^nvidia[0-9]"', {
          spec: { cpu: 500, gpu: 1, gpuVram: 0, ram: 64, disk: 16 },
        }),
      );
      expect(result.status).toBe('succeeded');
      expect(stdout).toBe('1\n');
    },
  );

  it('refuses an image ID that is not on this machine, saying what to do', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(run(shellManifest(missing, 'true'))).rejects.toThrow(/is not on this machine/);
  });
});
