/**
 * `npm run build:schema`: writes lilypad.module.schema.json, the JSON Schema of lilypad.module.json
 * generated from the zod schema, shipped with the package for editors. test/modules/manifest-schema.test.ts
 * fails when the file and the zod schema drift apart.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestJsonSchema } from '../src/modules/manifest.js';
import { packageRoot } from '../src/modules/registry.js';

export const SCHEMA_FILE = 'lilypad.module.schema.json';

const file = join(packageRoot(), SCHEMA_FILE);
await writeFile(file, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
