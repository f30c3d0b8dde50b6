/**
 * What the Docker tests share: whether Docker can run them here (one line saying why not), the busybox
 * test image (found, or built without a registry by scripts/build-test-images.ts) and manifests for it.
 */
import { existsSync } from 'node:fs';
import { BUSYBOX_BINARY, ensureTestImage, type TestImage } from '../../scripts/build-test-images.js';
import { DockerClient } from '../../src/executors/docker/docker-client.js';
import type { DockerModuleManifest } from '../../src/modules/manifest.js';

async function whyNot(): Promise<string | undefined> {
  if (!existsSync(BUSYBOX_BINARY)) return `${BUSYBOX_BINARY} is missing (apt-get install busybox-static)`;
  const client = new DockerClient();
  try {
    await client.ping({ signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.close();
  }
}

/**
 * Why the Docker tests cannot run on this machine; undefined when they can. The compliance suite
 * (docker-compliance.test.ts) prints it, once for all the Docker test files.
 */
export const dockerSkipReason = await whyNot();

let image: Promise<TestImage> | undefined;

/** The busybox image, built once per test file when missing. */
export function testImage(): Promise<TestImage> {
  image ??= (async () => {
    const client = new DockerClient();
    try {
      return await ensureTestImage(client);
    } finally {
      client.close();
    }
  })();
  return image;
}

type Overrides = Partial<Omit<DockerModuleManifest, 'executor' | 'entry'>> & {
  entry?: Partial<DockerModuleManifest['entry']>;
};

/** A docker manifest running `args` in the busybox image; small limits, overridable. */
export function busyboxManifest(
  imageId: string,
  args: DockerModuleManifest['entry']['args'],
  overrides: Overrides = {},
): DockerModuleManifest {
  const { entry, ...rest } = overrides;
  return {
    name: 'busybox-test',
    version: 'v0',
    description: 'a shell command in the busybox test image',
    executor: 'docker',
    entry: { image: imageId, args, ...entry },
    inputs: {},
    spec: { cpu: 500, gpu: 0, gpuVram: 0, ram: 32, disk: 16 },
    timeoutSeconds: 20,
    deterministic: true,
    ...rest,
  };
}

/** `/bin/sh -c script` in the busybox image. */
export function shellManifest(
  imageId: string,
  script: string,
  overrides: Overrides = {},
): DockerModuleManifest {
  return busyboxManifest(imageId, ['/bin/sh', '-c', script], overrides);
}
