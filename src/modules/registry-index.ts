/**
 * A registry index: a JSON file anyone can host (a URL or a local path) that maps `name:version` to
 * where the module is: its CID (fetched from the directory and verified) or a git reference
 * (`github.com/org/repo:v1.2.0`, pinned on first use).
 *
 *     { "modules": { "cowsay:v0.0.2": "bafybei…", "sdxl:v1.0.0": "github.com/org/sdxl:v1.0.0" } }
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LilypadError } from '../protocol/errors.js';

const REF = /^[a-z0-9][a-z0-9._-]*:[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const registryIndexSchema = z.strictObject({
  modules: z.record(z.string().regex(REF, 'must be name:version'), z.string().min(1)),
});
export type RegistryIndex = z.infer<typeof registryIndexSchema>;

/** Reads and validates the index at `source` (http(s) URL or file path). */
export async function loadRegistryIndex(source: string, signal?: AbortSignal): Promise<RegistryIndex> {
  let text: string;
  try {
    if (/^https?:\/\//.test(source)) {
      const response = await fetch(source, signal ? { signal } : {});
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } else {
      text = await readFile(source.replace(/^file:\/\//, ''), 'utf8');
    }
  } catch (error) {
    throw new LilypadError(`cannot read the module index ${source}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LilypadError(`the module index ${source} is not JSON`);
  }
  const parsed = registryIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // A bad key's own message (e.g. "must be name:version") is one level down.
    const message =
      issue?.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue?.message;
    throw new LilypadError(
      `the module index ${source} is invalid: ${issue?.path.join('.') || '(top level)'}: ${message}`,
      { hint: 'expected { "modules": { "name:version": "<CID or git repo:tag>" } }' },
    );
  }
  return parsed.data;
}
