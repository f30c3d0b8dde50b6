import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModuleDir, builtinModules, packageRoot } from '../../src/modules/registry.js';
import { resolveModule } from '../../src/modules/resolve.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-resolve-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveModule', () => {
  it('resolves cowsay:v0.0.1 to the built folder with a stable CID', async () => {
    const a = await resolveModule('cowsay:v0.0.1');
    const b = await resolveModule('cowsay:v0.0.1');
    expect(a.dir).toBe(join(packageRoot(), 'build/modules/cowsay'));
    expect(a.manifest.name).toBe('cowsay');
    expect(a.cid).toMatch(/^bafy/);
    expect(b.cid).toBe(a.cid);
    expect((await resolveModule('cowsay')).cid).toBe(a.cid);
  });

  it('resolves a local folder to the same CID as the same bytes elsewhere', async () => {
    const copy = join(dir, 'cowsay-copy');
    await cp(builtinModuleDir('cowsay:v0.0.1') as string, copy, { recursive: true });
    const local = await resolveModule(copy);
    expect(local.dir).toBe(copy);
    expect(local.cid).toBe((await resolveModule('cowsay:v0.0.1')).cid);
  });

  it('lists the available modules for an unknown one', async () => {
    expect(builtinModules()).toContain('cowsay:v0.0.1');
    await expect(resolveModule('horsesay:v9')).rejects.toThrow(
      `unknown module "horsesay:v9" (available modules: ${builtinModules().join(', ')})`,
    );
  });

  it('says when a folder has no manifest', async () => {
    await expect(resolveModule(dir)).rejects.toThrow(/lilypad\.module\.json does not exist/);
    await expect(resolveModule('./no/such/folder')).rejects.toThrow(/no module folder at/);
  });
});
