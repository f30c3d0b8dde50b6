/**
 * Builds the Docker test image without any registry: a root filesystem holding Debian's static busybox
 * (from the `busybox-static` package) with a link per applet in /bin, `docker import`ed through the
 * Engine API. Prints the image ID (`sha256:…`), which is what test manifests pin, and records it in
 * build/test-images.json.
 *
 *     npx tsx scripts/build-test-images.ts          # reuse the image when it is there
 *     npx tsx scripts/build-test-images.ts --force  # rebuild it
 *
 * The tag names the busybox binary's hash, so a new busybox makes a new image; an image ID differs
 * from one build to the next (the import time is part of it), which is why tests look the tag up.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DockerClient, DockerNotFoundError } from '../src/executors/docker/docker-client.js';

export const BUSYBOX_BINARY = '/bin/busybox';
export const TEST_IMAGE_REPOSITORY = 'lilypad-test/busybox';

export type TestImage = { reference: string; id: string };

async function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(chunks).toString('utf8'))
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** The root filesystem: what `busybox --install -s` makes, with links relative to /bin, plus nobody. */
async function makeRootfs(dir: string): Promise<void> {
  for (const folder of ['bin', 'etc', 'tmp', 'inputs', 'outputs', 'proc', 'sys', 'dev', 'root']) {
    await mkdir(join(dir, folder));
  }
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX_BINARY, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  const applets = (await run(BUSYBOX_BINARY, ['--list']))
    .split('\n')
    .filter((name) => /^[\w.[-]+$/.test(name));
  for (const applet of applets) {
    if (applet !== 'busybox') await symlink('busybox', join(dir, 'bin', applet));
  }
  await writeFile(
    join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

export async function tag(): Promise<string> {
  const hash = createHash('sha256')
    .update(await readFile(BUSYBOX_BINARY))
    .digest('hex');
  return `busybox-${hash.slice(0, 16)}`;
}

/** A file added to the busybox root filesystem: a path inside it, the bytes, the mode. */
export type ExtraFile = { path: string; content: Uint8Array; mode: number };

/**
 * A busybox image with `extra` files, `docker import`ed as `reference` (found by that tag when it is
 * there, unless `force`).
 */
export async function ensureBusyboxImage(
  client: DockerClient,
  reference: string,
  options: { force?: boolean; extra?: ExtraFile[]; changes?: string[] } = {},
): Promise<TestImage> {
  if (!options.force) {
    try {
      return { reference, id: (await client.inspectImage(reference)).Id };
    } catch (error) {
      if (!(error instanceof DockerNotFoundError)) throw error;
    }
  }
  const rootfs = await mkdtemp(join(tmpdir(), 'lilypad-rootfs-'));
  try {
    await makeRootfs(rootfs);
    for (const file of options.extra ?? []) {
      await writeFile(join(rootfs, file.path), file.content);
      await chmod(join(rootfs, file.path), file.mode);
    }
    const tar = spawn('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tarExit = new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
    });
    const [repository, imageTag] = reference.split(':') as [string, string];
    const [image] = await Promise.all([
      client.importImage(tar.stdout, {
        repository,
        tag: imageTag,
        changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]', ...(options.changes ?? [])],
      }),
      tarExit,
    ]);
    return { reference, id: image.Id };
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** The busybox test image: found by its tag, or built. */
export async function ensureTestImage(
  client: DockerClient = new DockerClient(),
  options: { force?: boolean } = {},
): Promise<TestImage> {
  return ensureBusyboxImage(client, `${TEST_IMAGE_REPOSITORY}:${await tag()}`, {
    ...options,
    changes: ['LABEL org.lilypad.test=busybox'],
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const client = new DockerClient();
  const image = await ensureTestImage(client, { force: process.argv.includes('--force') });
  client.close();
  const record = fileURLToPath(new URL('../build/test-images.json', import.meta.url));
  await mkdir(join(record, '..'), { recursive: true });
  await writeFile(record, `${JSON.stringify({ busybox: image }, null, 2)}\n`);
  process.stdout.write(`${image.reference} ${image.id}\n`);
}
