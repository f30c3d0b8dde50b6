/**
 * The module manifest, `lilypad.module.json`: what a module is, how to start it, which inputs it takes
 * and what machine it needs. The manifest sits in the module folder, so the folder's CID pins it too.
 * `executor` decides the entry's shape: a `.wasm` file in the folder, or a Docker image pinned by digest.
 *
 * Inputs reach a module only as whole argv elements or whole environment values (`{ "input": "Name" }`
 * in `entry.args` / `entry.env`), never spliced into text, so no input value can rewrite the job.
 * A `file` input's value is the CID of a file or folder in the directory; the module sees it as the
 * path `/inputs/<Name>` (see file-inputs.ts).
 *
 * `lilypad.module.schema.json` at the package root is this schema as JSON Schema, for editors
 * (`npm run build:schema` writes it; a test keeps it in sync).
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

const inputRef = z
  .strictObject({ input: z.string().regex(INPUT_NAME, 'must be an input name') })
  .meta({ description: 'the whole value of an input, never spliced into text' });
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
    type: z.enum(['string', 'integer', 'boolean', 'file']).meta({
      description: 'file: the CID of a file or folder in the directory, seen by the module as /inputs/<Name>',
    }),
    default: z.union([z.string(), z.number().int(), z.boolean()]).optional(),
    description: z.string(),
    maxLength: nonNegativeInt.optional().meta({ description: 'string: the most characters' }),
    min: z.number().int().optional().meta({ description: 'integer: the least value' }),
    max: z.number().int().optional().meta({ description: 'integer: the greatest value' }),
    maxBytes: nonNegativeInt.optional().meta({ description: 'file: the most bytes (all files of a folder)' }),
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
      .optional()
      .meta({ description: 'string: a regular expression the whole value must match' }),
  })
  .superRefine((spec, ctx) => {
    if (spec.default !== undefined) {
      const expected = spec.type === 'integer' ? 'number' : spec.type === 'file' ? 'string' : spec.type;
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
    if (spec.type !== 'file' && spec.maxBytes !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'maxBytes applies to file inputs only' });
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'must not be greater than max' });
    }
  });

/**
 * A Docker image pinned by digest: the image ID (`sha256:…`, the digest of its configuration) or a
 * repository digest (`name@sha256:…`). Tags are refused: they move, and a deal must pin exact code.
 */
export const DOCKER_IMAGE = /^(?:[a-z0-9][a-z0-9._/:-]*@)?sha256:[0-9a-f]{64}$/;
/** `uid:gid`, numeric: the image may have no /etc/passwd to look names up in. */
const DOCKER_USER = /^\d{1,10}:\d{1,10}$/;

const entryArgs = z.array(argument);
const entryEnv = z
  .record(z.string().regex(ENV_NAME, 'must be an environment variable name'), argument)
  .optional();

const wasmEntry = z.strictObject({
  wasm: folderFile,
  /** argv after argv[0], which is the module's name. */
  args: entryArgs,
  env: entryEnv,
});

const dockerEntry = z.strictObject({
  /** Replaces the image's entrypoint (Docker's Entrypoint); absent: the image's own. */
  entrypoint: entryArgs.optional(),
  image: z
    .string()
    .regex(DOCKER_IMAGE, 'must be pinned by digest: "sha256:<64 hex>" or "name@sha256:<64 hex>", not a tag'),
  /**
   * The container's command (Docker's Cmd): the whole argv, or the arguments of the image's entrypoint
   * when it has one; empty for the image's own command.
   */
  args: entryArgs,
  env: entryEnv,
  /** Who the command runs as; the default is nobody (65534:65534). "0:0" only if the image needs root. */
  user: z.string().regex(DOCKER_USER, 'must be a numeric "uid:gid"').optional(),
});

const spec = z.strictObject({
  /** milli-CPU */
  cpu: nonNegativeInt,
  gpu: nonNegativeInt,
  /** MB */
  gpuVram: nonNegativeInt,
  /** MB */
  ram: nonNegativeInt,
  /** MB */
  disk: nonNegativeInt,
});

/** What the module leaves under /outputs, for people and for tools that show results. */
const outputSpec = z.strictObject({
  /** Relative to /outputs. */
  path: folderFile,
  description: z.string(),
});

const common = {
  /** Where an editor finds the JSON Schema, e.g. "./node_modules/lilypad/lilypad.module.schema.json". */
  $schema: z.string().optional(),
  name: z.string().regex(NAME, 'must be lower case letters, digits, ".", "_" or "-"'),
  version: z.string().min(1),
  description: z.string(),
  inputs: z.record(z.string().regex(INPUT_NAME, 'must be letters, digits or "_"'), inputSpec),
  outputs: z
    .record(z.string().regex(INPUT_NAME, 'must be letters, digits or "_"'), outputSpec)
    .optional()
    .meta({ description: 'files the module writes under /outputs (stdout and stderr are always kept)' }),
  spec: spec.meta({ description: 'the machine the module needs: milli-CPU, GPUs, MB of VRAM, RAM and disk' }),
  timeoutSeconds: z.number().int().positive(),
  /** WASM only: the module's memory limit in 64 KiB pages; the default is `spec.ram`. */
  memoryPages: z.number().int().min(1).max(65_536).optional(),
  deterministic: z
    .boolean()
    .meta({ description: 'same inputs, same output bytes: mediators compare results bit for bit' }),
  /**
   * Not deterministic modules only: how alike (traceSimilarity, 0..1) a mediator's re-run and the provider's
   * trace must be for the result to count as correct. Default: defaults.traceSimilarityThreshold.
   */
  traceSimilarityThreshold: z.number().min(0).max(1).optional().meta({
    description: "not deterministic modules: how alike (0..1) a re-run's trace must be to the provider's",
  }),
};

/** A manifest is one of two shapes, told apart by `executor`; the entry differs, the rest is common. */
export const moduleManifestSchema = z
  .discriminatedUnion('executor', [
    z.strictObject({ ...common, executor: z.literal('wasm'), entry: wasmEntry }),
    z.strictObject({ ...common, executor: z.literal('docker'), entry: dockerEntry }),
  ])
  .superRefine((manifest, ctx) => {
    if (manifest.executor === 'docker' && manifest.memoryPages !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['memoryPages'],
        message: 'applies to wasm modules only (docker modules use spec.ram)',
      });
    }
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
    if (manifest.executor === 'docker') {
      for (const [i, arg] of (manifest.entry.entrypoint ?? []).entries()) {
        check(arg, ['entry', 'entrypoint', i]);
      }
    }
    for (const [key, value] of Object.entries(manifest.entry.env ?? {})) check(value, ['entry', 'env', key]);
  });

export type ModuleManifest = z.infer<typeof moduleManifestSchema>;
export type WasmModuleManifest = Extract<ModuleManifest, { executor: 'wasm' }>;
export type DockerModuleManifest = Extract<ModuleManifest, { executor: 'docker' }>;
export type InputSpec = ModuleManifest['inputs'][string];
export type EntryArgument = ModuleManifest['entry']['args'][number];

/** The manifest schema as JSON Schema (draft 2020-12), for editors; refinements are not expressible there. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(moduleManifestSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'Lilypad module manifest (lilypad.module.json)',
  };
}

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
