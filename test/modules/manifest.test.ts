import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModuleManifest, parseManifest, readManifest } from '../../src/modules/manifest.js';
import { LilypadError } from '../../src/protocol/errors.js';

const valid: ModuleManifest = {
  name: 'echo',
  version: 'v1.0.0',
  description: 'echoes',
  executor: 'wasm',
  entry: { wasm: 'echo.wasm', args: ['--text', { input: 'Text' }], env: { MODE: { input: 'Loud' } } },
  inputs: {
    Text: { type: 'string', description: 'what to say', maxLength: 10, default: 'hi' },
    Loud: { type: 'boolean', description: 'shout', default: false },
  },
  spec: { cpu: 100, gpu: 0, gpuVram: 0, ram: 16, disk: 0 },
  timeoutSeconds: 5,
  deterministic: true,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): LilypadError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LilypadError);
    return error as LilypadError;
  }
  throw new Error('expected an error');
}

describe('module manifest', () => {
  it('accepts a valid manifest', () => {
    expect(parseManifest(valid)).toEqual(valid);
  });

  it('names the field that is wrong', () => {
    expect(errorOf(() => parseManifest({ ...valid, timeoutSeconds: -1 })).message).toMatch(/timeoutSeconds/);
    expect(errorOf(() => parseManifest({ ...valid, spec: { ...valid.spec, ram: 'lots' } })).message).toMatch(
      /spec\.ram/,
    );
    expect(errorOf(() => parseManifest({ ...valid, executor: 'vm' })).message).toMatch(/executor/);
  });

  it('rejects an argument that refers to an undeclared input', () => {
    const bad = { ...valid, entry: { ...valid.entry, args: [{ input: 'Nope' }] } };
    expect(errorOf(() => parseManifest(bad)).message).toMatch(
      /entry\.args\[0\]: refers to undeclared input "Nope"/,
    );
  });

  it('rejects an entry file outside the folder', () => {
    const bad = { ...valid, entry: { ...valid.entry, wasm: '../evil.wasm' } };
    expect(errorOf(() => parseManifest(bad)).message).toMatch(/entry\.wasm/);
  });

  it('rejects a default of the wrong type and unknown fields', () => {
    const badDefault = {
      ...valid,
      inputs: { ...valid.inputs, Loud: { type: 'boolean', description: '', default: 'yes' } },
    };
    expect(errorOf(() => parseManifest(badDefault)).message).toMatch(/inputs\.Loud\.default/);
    expect(errorOf(() => parseManifest({ ...valid, timeout: 5 })).message).toMatch(/timeout/);
  });

  it('names the file when reading from a folder', async () => {
    const folder = join(dir, 'broken');
    await mkdir(folder);
    await writeFile(join(folder, 'lilypad.module.json'), JSON.stringify({ ...valid, name: 'Bad Name' }));
    await expect(readManifest(folder)).rejects.toThrow(/broken\/lilypad\.module\.json: name:/);
    await writeFile(join(folder, 'lilypad.module.json'), '{ not json');
    await expect(readManifest(folder)).rejects.toThrow(/lilypad\.module\.json: not JSON/);
    await expect(readManifest(join(dir, 'missing'))).rejects.toThrow(
      /missing\/lilypad\.module\.json does not exist/,
    );
  });
});
