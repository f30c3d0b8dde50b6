import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFileInputs, materializeFileInputs } from '../../src/modules/file-inputs.js';
import { validateInputs } from '../../src/modules/inputs.js';
import { type ModuleManifest, parseManifest } from '../../src/modules/manifest.js';
import { memoryBlockstore } from '../../src/storage/blockstore.js';
import { exportPath } from '../../src/storage/unixfs.js';

const manifest: ModuleManifest = parseManifest({
  name: 'resize',
  version: 'v1',
  description: 'test',
  executor: 'wasm',
  entry: { wasm: 'resize.wasm', args: [{ input: 'Image' }, { input: 'Caption' }] },
  inputs: {
    Image: { type: 'file', description: 'a picture', maxBytes: 1000 },
    Caption: { type: 'string', description: 'text', default: '@not-a-file' },
  },
  spec: { cpu: 1, gpu: 0, gpuVram: 0, ram: 1, disk: 0 },
  timeoutSeconds: 1,
  deterministic: true,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-file-inputs-'));
  await writeFile(join(dir, 'cat.png'), 'not really a png');
  await mkdir(join(dir, 'album'));
  await writeFile(join(dir, 'album', 'a.txt'), 'a');
  await writeFile(join(dir, 'big.bin'), new Uint8Array(2000));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file inputs', () => {
  it('travel as a CID and reach the module as /inputs/<Name>, byte for byte', async () => {
    const blockstore = memoryBlockstore();
    const raw = { Image: `@${join(dir, 'cat.png')}`, Caption: '@cat' };
    const { inputs, roots } = await importFileInputs(manifest, raw, blockstore);
    expect(roots).toHaveLength(1);
    expect(inputs.Image).toBe(roots[0]?.toString());
    expect(inputs.Caption).toBe('@cat'); // a string input is never read as a path
    const values = validateInputs(manifest, inputs);
    const jobInputs = join(dir, 'job-1');
    await mkdir(jobInputs);
    const seen = await materializeFileInputs(manifest, values, jobInputs, (cid, target) =>
      exportPath(blockstore, cid, target),
    );
    expect(seen).toEqual({ Caption: '@cat', Image: '/inputs/Image' });
    expect(await readFile(join(jobInputs, 'Image'), 'utf8')).toBe('not really a png');
  });

  it('carries folders too', async () => {
    const blockstore = memoryBlockstore();
    const { inputs } = await importFileInputs(manifest, { Image: `@${join(dir, 'album')}` }, blockstore);
    const jobInputs = join(dir, 'job-2');
    await mkdir(jobInputs);
    await materializeFileInputs(manifest, validateInputs(manifest, inputs), jobInputs, (cid, target) =>
      exportPath(blockstore, cid, target),
    );
    expect(await readFile(join(jobInputs, 'Image', 'a.txt'), 'utf8')).toBe('a');
  });

  it('refuses what is not a CID, a missing file and a file over maxBytes', async () => {
    expect(() => validateInputs(manifest, { Image: '../../etc/passwd' })).toThrow(
      /input "Image" must be the CID of a file or folder .*\(type file\)/,
    );
    await expect(importFileInputs(manifest, { Image: '@/no/such/file' }, memoryBlockstore())).rejects.toThrow(
      'input "Image": cannot read /no/such/file',
    );
    await expect(
      importFileInputs(manifest, { Image: `@${join(dir, 'big.bin')}` }, memoryBlockstore()),
    ).rejects.toThrow(/input "Image" is too large: .* 2000 bytes, at most 1000 \(maxBytes 1000\)/);
  });

  it('checks maxBytes again where the content is fetched', async () => {
    const blockstore = memoryBlockstore();
    const loose = parseManifest({
      ...manifest,
      inputs: { ...manifest.inputs, Image: { type: 'file', description: 'x' } },
    });
    const { inputs } = await importFileInputs(loose, { Image: `@${join(dir, 'big.bin')}` }, blockstore);
    const jobInputs = join(dir, 'job-3');
    await mkdir(jobInputs);
    await expect(
      materializeFileInputs(manifest, validateInputs(manifest, inputs), jobInputs, (cid, target) =>
        exportPath(blockstore, cid, target),
      ),
    ).rejects.toThrow('input "Image" is too large: 2000 bytes, at most 1000 (maxBytes 1000)');
  });
});
