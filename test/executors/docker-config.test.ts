/**
 * What the Docker executor asks the daemon for, and the docker manifest it accepts: no daemon needed.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  containerConfig,
  DEFAULT_PIDS_LIMIT,
  DEFAULT_USER,
  gpuDeviceRequests,
  memoryLimitBytes,
} from '../../src/executors/docker/docker-executor.js';
import { type DockerModuleManifest, parseManifest } from '../../src/modules/manifest.js';
import { LilypadError } from '../../src/protocol/errors.js';

const IMAGE = `sha256:${'ab'.repeat(32)}`;

const manifest: DockerModuleManifest = {
  name: 'sdxl',
  version: 'v1.0.0',
  description: 'draws',
  executor: 'docker',
  entry: {
    image: `example.org/lilypad/sdxl@${IMAGE}`,
    args: ['--prompt', { input: 'Prompt' }],
    env: { ZED: 'last', SEED: { input: 'Seed' }, ALPHA: 'first' },
  },
  inputs: {
    Prompt: { type: 'string', description: 'what to draw' },
    Seed: { type: 'integer', description: 'seed', default: 42 },
  },
  spec: { cpu: 500, gpu: 2, gpuVram: 24_000, ram: 512, disk: 100 },
  timeoutSeconds: 600,
  deterministic: false,
};

const plan = {
  manifest,
  inputs: { Prompt: 'a cow; rm -rf /', Seed: '7' },
  imageId: IMAGE,
  outputsDir: '/data/results/0x01/outputs',
  memoryBytes: 512 * 1024 * 1024,
  pidsLimit: DEFAULT_PIDS_LIMIT,
  seed: '0x01',
};

describe('Docker container configuration', () => {
  it('requests the GPUs the spec asks for through DeviceRequests, as `docker run --gpus 2` does', () => {
    expect(gpuDeviceRequests(manifest.spec)).toEqual([{ Driver: '', Count: 2, Capabilities: [['gpu']] }]);
    expect(containerConfig(plan).HostConfig?.DeviceRequests).toEqual([
      { Driver: '', Count: 2, Capabilities: [['gpu']] },
    ]);
    const cpuOnly = { ...plan, manifest: { ...manifest, spec: { ...manifest.spec, gpu: 0 } } };
    expect(gpuDeviceRequests(cpuOnly.manifest.spec)).toEqual([]);
    expect(containerConfig(cpuOnly).HostConfig).not.toHaveProperty('DeviceRequests');
  });

  it('sandboxes the container: no network, read-only root, no capabilities, limits from the spec', () => {
    const config = containerConfig(plan);
    expect(config).toMatchObject({
      Image: IMAGE,
      User: DEFAULT_USER,
      NetworkDisabled: true,
      Tty: false,
      OpenStdin: false,
    });
    expect(config.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      NanoCpus: Math.min(500, availableParallelism() * 1000) * 1_000_000,
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      PidsLimit: DEFAULT_PIDS_LIMIT,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'none' },
    });
    expect(config.Labels).toMatchObject({ 'org.lilypad.executor': 'docker', 'org.lilypad.seed': '0x01' });
  });

  it('mounts inputs read-only and outputs writable, and gives a /tmp of spec.disk', () => {
    const mounts = (withInputs: boolean) =>
      containerConfig({ ...plan, ...(withInputs ? { inputsDir: '/data/inputs/0x01' } : {}) }).HostConfig
        ?.Mounts;
    expect(mounts(true)).toEqual([
      { Type: 'bind', Source: '/data/inputs/0x01', Target: '/inputs', ReadOnly: true },
      { Type: 'bind', Source: '/data/results/0x01/outputs', Target: '/outputs', ReadOnly: false },
      { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 100 * 1024 * 1024, Mode: 0o1777 } },
    ]);
    expect(mounts(false)?.[0]).toMatchObject({ Type: 'tmpfs', Target: '/inputs', ReadOnly: true });
  });

  it('passes inputs as whole command elements and environment values, sorted by name', () => {
    const config = containerConfig(plan);
    expect(config.Cmd).toEqual(['--prompt', 'a cow; rm -rf /']);
    expect(config.Env).toEqual(['ALPHA=first', 'SEED=7', 'ZED=last']);
    const root = containerConfig({
      ...plan,
      manifest: { ...manifest, entry: { ...manifest.entry, user: '0:0' } },
    });
    expect(root.User).toBe('0:0');
  });

  it("takes the memory limit from the job, else spec.ram, never below Docker's minimum", () => {
    expect(memoryLimitBytes(manifest)).toBe(512 * 1024 * 1024);
    expect(memoryLimitBytes(manifest, 64 * 1024 * 1024)).toBe(64 * 1024 * 1024);
    expect(memoryLimitBytes(manifest, 1024)).toBe(6 * 1024 * 1024);
  });
});

describe('docker module manifest', () => {
  const message = (json: unknown) => {
    try {
      parseManifest(json);
    } catch (error) {
      expect(error).toBeInstanceOf(LilypadError);
      return (error as Error).message;
    }
    return 'valid';
  };

  it('accepts an image pinned by ID or by repository digest', () => {
    expect(parseManifest(manifest)).toEqual(manifest);
    expect(message({ ...manifest, entry: { ...manifest.entry, image: IMAGE } })).toBe('valid');
  });

  it('refuses tags, WASM fields and undeclared inputs', () => {
    for (const image of ['busybox', 'busybox:latest', 'busybox@sha256:abc', `sha256:${'AB'.repeat(32)}`]) {
      expect(message({ ...manifest, entry: { ...manifest.entry, image } })).toMatch(
        /entry\.image: must be pinned by digest/,
      );
    }
    expect(message({ ...manifest, entry: { ...manifest.entry, wasm: 'x.wasm' } })).toMatch(/wasm/);
    expect(message({ ...manifest, memoryPages: 16 })).toMatch(/memoryPages: applies to wasm modules only/);
    expect(message({ ...manifest, entry: { ...manifest.entry, args: [{ input: 'Nope' }] } })).toMatch(
      /entry\.args\[0\]: refers to undeclared input "Nope"/,
    );
    expect(message({ ...manifest, entry: { ...manifest.entry, user: 'root' } })).toMatch(/entry\.user/);
  });

  it('keeps WASM and Docker entries apart', () => {
    const { image: _image, ...withoutImage } = manifest.entry;
    expect(message({ ...manifest, entry: { ...withoutImage, wasm: 'x.wasm' } })).toMatch(/entry/);
    expect(message({ ...manifest, executor: 'wasm' })).toMatch(/entry/);
  });
});
