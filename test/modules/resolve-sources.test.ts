/**
 * Resolution beyond the built-in registry: a git repository and tag (a local bare repository by path
 * and by file:// URL), a bare CID fetched from a real trustless gateway, and a registry index file.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/modules/manifest.js';
import { ModuleMovedError } from '../../src/modules/module-cache.js';
import { builtinModuleDir, builtinModules } from '../../src/modules/registry.js';
import { resolveModule } from '../../src/modules/resolve.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { importFolder } from '../../src/storage/unixfs.js';
import { startGateway, tempDir } from '../storage/fixtures.js';

const cowsayDir = builtinModuleDir('cowsay:v0.0.1') as string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.org',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.org',
    },
  });
}

/** A bare repository holding the cowsay module, tagged v1.0.0; returns it and a working clone. */
async function cowsayRepository(root: string): Promise<{ bare: string; work: string }> {
  const work = join(root, 'work');
  const bare = join(root, 'cowsay.git');
  await cp(cowsayDir, work, { recursive: true });
  git(work, 'init', '--quiet', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'cowsay');
  git(work, 'tag', '-a', 'v1.0.0', '-m', 'v1.0.0');
  git(root, 'clone', '--quiet', '--bare', work, bare);
  return { bare, work };
}

describe('resolveModule from git', () => {
  it('resolves repo:tag to the tree at the tag, cached by CID, and reports a moved tag', async () => {
    const root = await tempDir();
    const cacheDir = join(root, 'cache');
    const { bare, work } = await cowsayRepository(root);
    const builtin = await resolveModule('cowsay:v0.0.1');

    const first = await resolveModule(`${bare}:v1.0.0`, { cacheDir });
    expect(first.cid).toBe(builtin.cid); // the tree is the module folder, nothing added
    expect(first.dir).toBe(join(cacheDir, first.cid));
    const pins = JSON.parse(await readFile(join(cacheDir, 'pins.json'), 'utf8'));
    expect(pins[`${bare}:v1.0.0`].cid).toBe(first.cid);
    // Resolved again: the tag still names the pinned commit, the cached folder is used.
    expect((await resolveModule(`${bare}:v1.0.0`, { cacheDir })).dir).toBe(first.dir);
    // A file:// URL is another reference, same content.
    expect((await resolveModule(`file://${bare}:v1.0.0`, { cacheDir })).cid).toBe(first.cid);

    // Someone moves the tag to other content.
    const manifest = JSON.parse(await readFile(join(work, MANIFEST_FILE), 'utf8'));
    await writeFile(join(work, MANIFEST_FILE), JSON.stringify({ ...manifest, description: 'moved' }));
    git(work, 'commit', '--quiet', '-am', 'other content');
    git(work, 'tag', '-f', '-a', 'v1.0.0', '-m', 'moved');
    git(work, 'push', '--quiet', '--force', bare, 'refs/tags/v1.0.0');
    const error = await resolveModule(`${bare}:v1.0.0`, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleMovedError);
    expect((error as Error).message).toContain(`it was ${first.cid}`);
    expect((error as ModuleMovedError).hint).toContain(`lilypad run ${first.cid}`);
    // The pinned content is still there, by its CID.
    expect((await resolveModule(first.cid, { cacheDir })).dir).toBe(first.dir);
  }, 60_000);

  it('says when the tag or the manifest is missing', async () => {
    const root = await tempDir();
    const { bare } = await cowsayRepository(root);
    await expect(resolveModule(`${bare}:v9.9.9`, { cacheDir: join(root, 'cache') })).rejects.toThrow(
      /has no tag v9\.9\.9/,
    );
    const empty = join(root, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'README'), 'no module here');
    git(empty, 'init', '--quiet', '-b', 'main');
    git(empty, 'add', '-A');
    git(empty, 'commit', '--quiet', '-m', 'readme');
    git(empty, 'tag', 'v1');
    await expect(resolveModule(`${empty}:v1`, { cacheDir: join(root, 'cache') })).rejects.toThrow(
      /has no lilypad\.module\.json \(nor lilypad_module\.json\.tmpl\) at its root/,
    );
  }, 60_000);
});

describe('resolveModule from the directory and a registry index', () => {
  it('fetches a bare CID from the gateway, verified, and keeps it by CID', async () => {
    const root = await tempDir();
    const blockstore = memoryBlockstore();
    const cid = (await importFolder(blockstore, cowsayDir)).toString();
    const gatewayUrl = await startGateway(blockstore);
    const cacheDir = join(root, 'cache');
    const module = await resolveModule(cid, { cacheDir, gatewayUrl });
    expect(module.cid).toBe(cid);
    expect(module.manifest.name).toBe('cowsay');
    expect(module.dir).toBe(join(cacheDir, cid));
    // Cached: no gateway needed the second time.
    expect((await resolveModule(cid, { cacheDir })).dir).toBe(module.dir);
    await expect(resolveModule(cid, { cacheDir: join(root, 'other') })).rejects.toThrow(
      /no directory is configured/,
    );
    // A cached folder changed on disk is not taken for the module.
    await writeFile(join(module.dir, 'extra'), 'planted');
    await expect(resolveModule(cid, { cacheDir })).rejects.toThrow(/has CID .*, not /);
  });

  it('maps name:version through an index file to a CID or a git tag', async () => {
    const root = await tempDir();
    const blockstore = memoryBlockstore();
    const cid = (await importFolder(blockstore, cowsayDir)).toString();
    const gatewayUrl = await startGateway(blockstore);
    const { bare } = await cowsayRepository(root);
    const index = join(root, 'index.json');
    await writeFile(
      index,
      JSON.stringify({
        modules: { 'cowsay:v0.0.1': cid, 'cowsay:v0.0.9': `${bare}:v1.0.0`, 'bad:v1': 'nowhere' },
      }),
    );
    const cacheDir = join(root, 'cache');
    // Built-ins come first; a version only the index has comes from it.
    expect((await resolveModule('cowsay:v0.0.1', { index, cacheDir, gatewayUrl })).cid).toBe(cid);
    await expect(resolveModule('cowsay:v0.0.9', { index, cacheDir, gatewayUrl })).rejects.toThrow(
      /maps cowsay:v0\.0\.9 to a module that is cowsay:v0\.0\.1/,
    );
    await expect(resolveModule('bad:v1', { index, cacheDir })).rejects.toThrow(/not a CID or git reference/);
    await expect(resolveModule('horsesay:v1', { index, cacheDir })).rejects.toThrow(
      `unknown module "horsesay:v1" (available modules: ${builtinModules().join(', ')}) or in the index ${index}`,
    );
    await writeFile(index, JSON.stringify({ modules: { cowsay: cid } }));
    await expect(resolveModule('horsesay:v1', { index, cacheDir })).rejects.toThrow(/must be name:version/);
  }, 60_000);
});

describe('resolveModule of a Lilypad module repository', () => {
  it('reads lilypad_module.json.tmpl into the manifest of the module folder', async () => {
    const root = await tempDir();
    const work = join(root, 'lilypad-module-cowsay');
    await mkdir(work);
    await cp(
      new URL('./fixtures/lilypad/cowsay.json.tmpl', import.meta.url),
      join(work, 'lilypad_module.json.tmpl'),
    );
    git(work, 'init', '--quiet', '-b', 'main');
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'cowsay');
    git(work, 'tag', 'v0.0.4');
    const module = await resolveModule(`${work}:v0.0.4`, { cacheDir: join(root, 'cache') });
    expect(module.manifest).toMatchObject({ name: 'cowsay', version: 'v0.0.4', executor: 'docker' });
    expect(JSON.parse(await readFile(join(module.dir, MANIFEST_FILE), 'utf8'))).toEqual(module.manifest);
  }, 60_000);
});
