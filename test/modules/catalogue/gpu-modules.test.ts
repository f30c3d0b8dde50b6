/**
 * The GPU modules (sdxl, llama3): Docker manifests pinned by digest that no machine here can run.
 * What is checked is everything short of the run: the manifests resolve and validate, the inputs reach
 * the container as whole environment values, the container asks Docker for the GPU, and the solver's
 * spec rule matches them only with an offer that has the GPU and the VRAM.
 */
import { describe, expect, it } from 'vitest';
import { containerConfig } from '../../../src/executors/docker/docker-executor.js';
import { validateInputs } from '../../../src/modules/inputs.js';
import type { DockerModuleManifest } from '../../../src/modules/manifest.js';
import { resolveModule } from '../../../src/modules/resolve.js';
import { specShortfall } from '../../../src/solver/matcher.js';

const CPU_BOX = { cpu: 16000, gpu: 0, gpuVram: 0, ram: 64000, disk: 500000 };
const SMALL_GPU = { ...CPU_BOX, gpu: 1, gpuVram: 8000 };
const BIG_GPU = { ...CPU_BOX, gpu: 2, gpuVram: 48000 };

describe.each<{ ref: string; vram: number; inputs: Record<string, string> }>([
  { ref: 'sdxl:v1.0-base', vram: 24000, inputs: { Prompt: 'a frog; $(rm -rf /)', Seed: '7' } },
  { ref: 'llama3:v8b-instruct', vram: 16000, inputs: { Prompt: 'say "hi"\nthen stop', MaxTokens: '64' } },
])('$ref', ({ ref, vram, inputs }) => {
  it('is a Docker module pinned by digest that asks for a GPU', async () => {
    const { manifest, cid } = await resolveModule(ref);
    expect(cid).toMatch(/^bafy/);
    expect(manifest.executor).toBe('docker');
    const docker = manifest as DockerModuleManifest;
    expect(docker.entry.image).toMatch(/^ghcr\.io\/lilypad-tech\/[a-z0-9-]+@sha256:[0-9a-f]{64}$/);
    expect(manifest.spec).toMatchObject({ gpu: 1, gpuVram: vram });
    expect(manifest.deterministic).toBe(false);
  });

  it('is matched only with an offer that has the GPU and the VRAM', async () => {
    const { manifest } = await resolveModule(ref);
    expect(specShortfall(CPU_BOX, manifest.spec)).toBe('gpu');
    expect(specShortfall(SMALL_GPU, manifest.spec)).toBe('gpuVram');
    expect(specShortfall(BIG_GPU, manifest.spec)).toBeUndefined();
  });

  it('passes its inputs as whole environment values and requests the GPU from Docker', async () => {
    const { manifest } = await resolveModule(ref);
    const values = validateInputs(manifest, inputs);
    const config = containerConfig({
      manifest: manifest as DockerModuleManifest,
      inputs: values,
      imageId: `sha256:${'1'.repeat(64)}`,
      outputsDir: '/tmp/outputs',
      memoryBytes: manifest.spec.ram * 1024 * 1024,
      pidsLimit: 256,
      seed: '0x01',
    });
    expect(config.Env).toContain(`PROMPT=${inputs.Prompt}`);
    expect(config.HostConfig?.DeviceRequests).toEqual([{ Driver: '', Count: 1, Capabilities: [['gpu']] }]);
    expect(config.NetworkDisabled).toBe(true);
  });

  it('validates its inputs', async () => {
    const { manifest } = await resolveModule(ref);
    expect(() => validateInputs(manifest, { Prompt: 'x'.repeat(9000) })).toThrow(
      /input "Prompt" is too long/,
    );
  });
});
