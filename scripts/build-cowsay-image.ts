/**
 * The cowsay-docker module (part of `npm run build:modules`): a busybox image with
 * modules/cowsay-docker/cowsay.sh as /bin/cowsay, `docker import`ed without any registry, and
 * build/modules/cowsay-docker/lilypad.module.json pinning that image by its ID. The image is found by a
 * tag naming the hash of busybox and the script, so it is built once per change; its ID differs from
 * one machine to the next (the import time is part of it), which is why the manifest is written here
 * rather than committed. Where Docker is absent this says so in one line and leaves the module unbuilt.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DockerClient } from '../src/executors/docker/docker-client.js';
import { type DockerModuleManifest, MANIFEST_FILE, readManifest } from '../src/modules/manifest.js';
import { packageRoot } from '../src/modules/registry.js';
import { folderCid } from '../src/storage/unixfs.js';
import { BUSYBOX_BINARY, ensureBusyboxImage } from './build-test-images.js';

const root = packageRoot();
const script = await readFile(join(root, 'modules', 'cowsay-docker', 'cowsay.sh'));
const client = new DockerClient();
try {
  await client.ping({ signal: AbortSignal.timeout(3000) });
} catch (error) {
  console.log(`cowsay-docker: skipped, Docker is not reachable (${(error as Error).message})`);
  process.exit(0);
}
const hash = createHash('sha256')
  .update(await readFile(BUSYBOX_BINARY))
  .update(script)
  .digest('hex');
const image = await ensureBusyboxImage(client, `lilypad/cowsay:busybox-${hash.slice(0, 16)}`, {
  extra: [{ path: 'bin/cowsay', content: script, mode: 0o755 }],
  changes: ['LABEL org.lilypad.module=cowsay-docker'],
});
client.close();

// The same inputs and description as the WASM cowsay: one module, two executors.
const wasm = await readManifest(join(root, 'modules', 'cowsay'));
const manifest: DockerModuleManifest = {
  name: 'cowsay-docker',
  version: wasm.version,
  description: `${wasm.description} In a container (busybox sh and awk).`,
  executor: 'docker',
  entry: { image: image.id, args: ['/bin/cowsay', { input: 'Message' }] },
  inputs: wasm.inputs,
  spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 32, disk: 16 },
  timeoutSeconds: wasm.timeoutSeconds,
  deterministic: true,
};
const target = join(root, 'build', 'modules', 'cowsay-docker');
await mkdir(target, { recursive: true });
await writeFile(join(target, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `cowsay-docker: image ${image.reference} ${image.id} → build/modules/cowsay-docker (${await folderCid(target)})`,
);
