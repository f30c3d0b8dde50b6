/**
 * Modules in git repositories: `github.com/org/repo:v1.2.0` (fetched over https), or any URL git
 * understands (`https://…`, `file://…`) or a local repository path, followed by `:tag`. The module
 * folder is the repository's tree at the tag, without `.git`.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LilypadError } from '../protocol/errors.js';

const run = promisify(execFile);

export type GitModuleRef = { ref: string; url: string; tag: string };

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const URL_SCHEME = /^(?:https?|file|git|ssh):\/\//;
const HOST_PATH = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+\/\S+$/i;

/** Reads `repo:tag` as a git reference, or undefined when `ref` is not one. */
export function parseGitRef(ref: string): GitModuleRef | undefined {
  const at = ref.lastIndexOf(':');
  if (at <= 0) return undefined;
  const repo = ref.slice(0, at);
  const tag = ref.slice(at + 1);
  if (!TAG.test(tag) || !repo.includes('/')) return undefined;
  if (URL_SCHEME.test(repo)) return { ref, url: repo, tag };
  if (repo.startsWith('/') || repo.startsWith('./') || repo.startsWith('../')) {
    return { ref, url: resolve(repo), tag };
  }
  if (HOST_PATH.test(repo)) return { ref, url: `https://${repo}`, tag };
  return undefined;
}

async function git(args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LilypadError(`${what}: git is not installed`, { hint: 'install git (apt-get install git)' });
    }
    throw new LilypadError(`${what}: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** The commit `tag` names in the repository at `url` (the peeled commit of an annotated tag). */
export async function tagCommit(source: GitModuleRef): Promise<string> {
  const tagRef = `refs/tags/${source.tag}`;
  const out = await git(
    ['ls-remote', '--tags', '--', source.url, tagRef, `${tagRef}^{}`],
    `git ${source.ref}`,
  );
  const lines = out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t') as [string, string]);
  const peeled = lines.find(([, name]) => name === `${tagRef}^{}`);
  const direct = lines.find(([, name]) => name === tagRef);
  const commit = (peeled ?? direct)?.[0];
  if (!commit) {
    throw new LilypadError(`git ${source.ref}: the repository ${source.url} has no tag ${source.tag}`);
  }
  return commit;
}

/** Checks the tree at the tag out into `dest` (which must not exist) without `.git`; returns the commit. */
export async function checkoutTag(source: GitModuleRef, dest: string): Promise<string> {
  const what = `git ${source.ref}`;
  await git(['clone', '--quiet', '--depth', '1', '--branch', source.tag, '--', source.url, dest], what);
  const commit = (await git(['-C', dest, 'rev-parse', 'HEAD'], what)).trim();
  await rm(join(dest, '.git'), { recursive: true, force: true });
  return commit;
}
