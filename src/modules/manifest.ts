/**
 * The module manifest, `lilypad.module.json`: what a module is, how to start it, which inputs it takes
 * and what machine it needs. The manifest sits in the module folder, so the folder's CID pins it too.
 *
 * Inputs reach a module only as whole argv elements or whole environment values (`{ "input": "Name" }`
 * in `entry.args` / `entry.env`), never spliced into text, so no input value can rewrite the job.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LilypadError } from '../protocol/errors.js';

export const MANIFEST_FILE = 'lilypad.module.json';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Integer-like keys would be reordered by JavaScript objects, breaking the sorted environment.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const inputRef = z.strictObject({ input: z.string().regex(INPUT_NAME, 'must be an input name') });
const argument = z.union([z.string(), inputRef]);

/** A file name inside the module folder: relative, no `..`, forward slashes. */
const folderFile = z
  .string()
  .min(1)
  .refine(
    (path) => !path.startsWith('/') && !path.includes('\\') && !path.split('/').some((part) => part === '..'),
    'must be a relative path inside the module folder',
  );

const nonNegativeInt = z.number().int().nonnegative();

const inputSpec = z
  .strictObject({
    type: z.enum(['string', 'integer', 'boolean']),
    default: z.union([z.string(), z.number().int(), z.boolean()]).optional(),
    description: z.string(),
    maxLength: nonNegativeInt.optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    pattern: z
      .string()
      .refine((source) => {
        try {
          new RegExp(source, 'u');
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.default !== undefined) {
      const expected = spec.type === 'integer' ? 'number' : spec.type;
      if (typeof spec.default !== expected) {
        ctx.addIssue({ code: 'custom', path: ['default'], message: `must be a ${spec.type}` });
      }
    }
    if (spec.type !== 'string' && (spec.maxLength !== undefined || spec.pattern !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'maxLength and pattern apply to string inputs only' });
    }
    if (spec.type !== 'integer' && (spec.min !== undefined || spec.max !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'min and max apply to integer inputs only' });
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'must not be greater than max' });
    }
  });

export const moduleManifestSchema = z
  .strictObject({
    name: z.string().regex(NAME, 'must be lower case letters, digits, ".", "_" or "-"'),
    version: z.string().min(1),
    description: z.string(),
    executor: z.enum(['wasm', 'docker']),
    entry: z.strictObject({
      wasm: folderFile,
      args: z.array(argument),
      env: z.record(z.string().regex(ENV_NAME, 'must be an environment variable name'), argument).optional(),
    }),
    inputs: z.record(z.string().regex(INPUT_NAME, 'must be letters, digits or "_"'), inputSpec),
    spec: z.strictObject({
      /** milli-CPU */
      cpu: nonNegativeInt,
      gpu: nonNegativeInt,
      /** MB */
      gpuVram: nonNegativeInt,
      /** MB */
      ram: nonNegativeInt,
      /** MB */
      disk: nonNegativeInt,
    }),
    timeoutSeconds: z.number().int().positive(),
    /** The module's memory limit in 64 KiB WebAssembly pages; the default is `spec.ram`. */
    memoryPages: z.number().int().min(1).max(65_536).optional(),
    deterministic: z.boolean(),
  })
  .superRefine((manifest, ctx) => {
    // Every input a module is started with must be declared, so validation covers it.
    const check = (value: unknown, path: (string | number)[]) => {
      if (typeof value === 'object' && value !== null && 'input' in value) {
        const name = (value as { input: string }).input;
        if (!Object.hasOwn(manifest.inputs, name)) {
          ctx.addIssue({ code: 'custom', path, message: `refers to undeclared input "${name}"` });
        }
      }
    };
    for (const [i, arg] of manifest.entry.args.entries()) check(arg, ['entry', 'args', i]);
    for (const [key, value] of Object.entries(manifest.entry.env ?? {})) check(value, ['entry', 'env', key]);
  });

export type ModuleManifest = z.infer<typeof moduleManifestSchema>;
export type InputSpec = ModuleManifest['inputs'][string];
export type EntryArgument = ModuleManifest['entry']['args'][number];

/** `entry.args[0]` style: how the CLI and the errors name a field. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(top level)';
}

/** Validates parsed JSON as a manifest; `file` names the source in errors. */
export function parseManifest(json: unknown, file: string = MANIFEST_FILE): ModuleManifest {
  const result = moduleManifestSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  throw new LilypadError(`invalid module manifest ${file}: ${issues[0]}`, {
    details: issues.length > 1 ? issues.join('\n') : undefined,
    hint: 'see PROTOCOL.md, section Modules, for the manifest fields',
  });
}

/** Reads and validates `<dir>/lilypad.module.json`. */
export async function readManifest(dir: string): Promise<ModuleManifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LilypadError(
      code === 'ENOENT' ? `no module manifest: ${file} does not exist` : `cannot read ${file}`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LilypadError(`invalid module manifest ${file}: not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return parseManifest(json, file);
}
