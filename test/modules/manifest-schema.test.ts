/** The JSON Schema shipped for editors is the zod schema's, and it accepts and refuses what zod does. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { manifestJsonSchema } from '../../src/modules/manifest.js';
import { packageRoot } from '../../src/modules/registry.js';

const shipped = JSON.parse(
  await readFile(join(packageRoot(), 'lilypad.module.schema.json'), 'utf8'),
) as Record<string, unknown>;
const cowsay = JSON.parse(
  await readFile(join(packageRoot(), 'modules/cowsay/lilypad.module.json'), 'utf8'),
) as Record<string, unknown>;

describe('lilypad.module.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (run `npm run build:schema` if not)', () => {
    expect(shipped).toEqual(manifestJsonSchema());
  });

  it('is in the published package', async () => {
    const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as {
      files: string[];
    };
    expect(pkg.files).toContain('lilypad.module.schema.json');
  });

  it('accepts the cowsay manifest and refuses what the zod schema refuses', () => {
    const validate = new Ajv2020({ strict: false }).compile(shipped);
    expect(validate(cowsay), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...cowsay, executor: 'python' })).toBe(false);
    expect(validate({ ...cowsay, timeoutSeconds: 0 })).toBe(false);
    expect(validate({ ...cowsay, extra: 1 })).toBe(false);
    const tagged = {
      ...cowsay,
      executor: 'docker',
      entry: { image: 'ubuntu:latest', args: [] },
    };
    expect(validate(tagged)).toBe(false);
  });
});
