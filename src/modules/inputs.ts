/**
 * Input values for a module: checked against the manifest by the job creator before it signs an
 * offer, and again by the resource provider before it runs anything. Values are strings throughout,
 * because they end up as whole argv elements or environment values.
 */
import { CID } from 'multiformats/cid';
import { LilypadError } from '../protocol/errors.js';
import type { InputSpec, ModuleManifest } from './manifest.js';

const INTEGER = /^[-+]?\d+$/;

function fail(name: string, rule: string, message: string): never {
  throw new LilypadError(`input "${name}" ${message} (${rule})`);
}

function checkValue(name: string, spec: InputSpec, value: string): string {
  // argv and environment strings are NUL-terminated on the module side.
  if (value.includes('\0')) fail(name, 'no NUL', 'must not contain NUL characters');
  switch (spec.type) {
    case 'string': {
      const length = [...value].length;
      if (spec.maxLength !== undefined && length > spec.maxLength) {
        fail(
          name,
          `maxLength ${spec.maxLength}`,
          `is too long: ${length} characters, at most ${spec.maxLength}`,
        );
      }
      if (spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`, 'u').test(value)) {
        fail(name, `pattern ${spec.pattern}`, `does not match the pattern /${spec.pattern}/`);
      }
      return value;
    }
    case 'integer': {
      if (!INTEGER.test(value))
        fail(name, 'type integer', `must be an integer, got ${JSON.stringify(value)}`);
      const number = BigInt(value);
      if (spec.min !== undefined && number < BigInt(spec.min)) {
        fail(name, `min ${spec.min}`, `must be at least ${spec.min}, got ${number}`);
      }
      if (spec.max !== undefined && number > BigInt(spec.max)) {
        fail(name, `max ${spec.max}`, `must be at most ${spec.max}, got ${number}`);
      }
      // One spelling per number, so equal inputs give equal offers and equal results.
      return number.toString();
    }
    case 'file': {
      // The content itself is checked where it is fetched (verified block by block, maxBytes).
      let cid: CID;
      try {
        cid = CID.parse(value);
      } catch {
        fail(
          name,
          'type file',
          `must be the CID of a file or folder (or @path on the command line), got ${JSON.stringify(value)}`,
        );
      }
      return cid.toV1().toString();
    }
    case 'boolean': {
      if (value !== 'true' && value !== 'false') {
        fail(name, 'type boolean', `must be true or false, got ${JSON.stringify(value)}`);
      }
      return value;
    }
  }
}

/**
 * Checks raw `name → value` strings against the manifest's inputs, fills in defaults and returns every
 * declared input's value (keys sorted). Throws a LilypadError naming the input and the rule it broke.
 */
export function validateInputs(
  manifest: ModuleManifest,
  raw: Record<string, string>,
): Record<string, string> {
  const known = Object.keys(manifest.inputs).sort();
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(manifest.inputs, name)) {
      const list = known.length > 0 ? known.join(', ') : 'none';
      throw new LilypadError(`unknown input "${name}" for module ${manifest.name} (known inputs: ${list})`);
    }
  }
  const values: Record<string, string> = {};
  for (const name of known) {
    const spec = manifest.inputs[name] as InputSpec;
    const given = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (given !== undefined && typeof given !== 'string') {
      fail(name, `type ${spec.type}`, 'must be given as a string');
    }
    const value = given ?? (spec.default === undefined ? undefined : String(spec.default));
    if (value === undefined) {
      throw new LilypadError(`input "${name}" is required (no default)`, {
        hint: `pass it with -i ${name}=<${spec.type}>`,
      });
    }
    values[name] = checkValue(name, spec, value);
  }
  return values;
}

/** `Name=value` pairs (as `lilypad run -i` and the jobs contract take them) as `name → value`. */
export function parseInputPairs(pairs: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new LilypadError(`expected KEY=VALUE, got "${pair}"`);
    values[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return values;
}

/** The job offer's `inputs` field: JSON of the values with sorted keys, so equal inputs sign equally. */
export function canonicalInputs(values: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(values).sort()) sorted[key] = values[key] as string;
  return JSON.stringify(sorted);
}

/** Reads a job offer's `inputs` field back; an empty string means no inputs. */
export function parseCanonicalInputs(text: string): Record<string, string> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LilypadError('the job inputs are not JSON', {
      details: (error as Error).message,
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LilypadError('the job inputs must be a JSON object of strings');
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new LilypadError(`the job input "${key}" must be a string`);
    values[key] = value;
  }
  return values;
}
