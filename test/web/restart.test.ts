/**
 * A web server killed with SIGKILL in the middle of a job: started again on the same state, it follows
 * the job it had posted (the same offer and deal, not a new run) to its end, paid with its result. And
 * the job creator's resume on its own: a result accepted before the restart is not accepted twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { type Devnet, startDevnet } from '../../src/devnet/devnet.js';
import type { JobProgress } from '../../src/job-creator/progress.js';
import { runJob } from '../../src/job-creator/run-job.js';
import { defaults } from '../../src/protocol/defaults.js';
import { createClient } from '../../src/web/client.js';
import type { JobView } from '../../src/web/schemas.js';

const script = fileURLToPath(new URL('./fixtures/web-process.ts', import.meta.url));

let dataDir: string;
let devnet: Devnet;
let web: ChildProcess | undefined;

/** Starts the web server's process; resolves with its URL once it listens. */
function startWeb(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: {
        ...process.env,
        LILYPAD_TEST_WEB: JSON.stringify({
          network: devnet.network,
          mediators: devnet.mediators,
          dataDir: join(dataDir, 'web'),
          faucetPrivateKey: devAccount('deployer').privateKey,
          port,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A server whose test failed before it could stop it must not outlive the test run.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const url = /ready (\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('exit', (code) =>
      reject(new Error(`the web server exited (${code}) before it was ready:\n${output}`)),
    );
    web = child;
  });
}

async function killWeb(): Promise<void> {
  const child = web;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-web-restart-'));
  devnet = await startDevnet({ dataDir: join(dataDir, 'devnet'), logger: pino({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await killWeb();
  await devnet?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a web server killed in the middle of a job', () => {
  it('follows the job again once started, to its end: the same deal, paid, with its result', async () => {
    const url = await startWeb(0);
    const signUp = await fetch(`${url}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'kill@example.org', password: 'correct horse battery' }),
    });
    expect(signUp.status).toBe(201);
    const cookie = (signUp.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const { csrfToken } = (await signUp.json()) as { csrfToken: string };
    const key = await fetch(`${url}/api/v1/keys`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'survivor' }),
    });
    const { secret } = (await key.json()) as { secret: string };

    const before = createClient({ url, apiKey: secret });
    const job = await before.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: 'killed mid-job' } });
    // Killed once the deal is under way, before it is paid.
    let seen: JobView = job;
    const deadline = Date.now() + 90_000;
    while (!['matched', 'running', 'verified'].includes(seen.status)) {
      expect(seen.status, `the job ended before the server could be killed: ${seen.error}`).not.toMatch(
        /paid|failed/,
      );
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
      seen = await before.job(job.id);
    }
    await killWeb();

    await startWeb(Number(new URL(url).port));
    const after = createClient({ url, apiKey: secret });
    const ended = await after.followJob(job.id);
    expect(ended.status, ended.error ?? '').toBe('paid');
    expect(ended.jobOfferId).toBe(seen.jobOfferId);
    expect(ended.dealId).toBe(seen.dealId);
    expect(await after.fileText(job.id, 'stdout')).toContain('killed mid-job');
    const types = (await after.events(job.id)).map((e) => e.type);
    expect(types).toContain('job:resumed');
    expect(types.filter((t) => t === 'job:offer-posted')).toHaveLength(1);
    expect(types.at(-1)).toBe('job:accepted');
  }, 180_000);

  it('reports a job whose result was accepted before the restart as paid, with that acceptance', async () => {
    const run = (extra: { resume?: { jobOfferId: `0x${string}` } }, events: JobProgress[]) =>
      runJob({
        network: devnet.network,
        privateKey: devAccount('jobCreator').privateKey,
        dataDir: join(dataDir, 'job-creator'),
        module: 'cowsay:v0.0.1',
        inputs: { Message: 'accepted once' },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: devnet.mediators,
        onProgress: (event) => events.push(event),
        ...extra,
      });
    const first: JobProgress[] = [];
    const done = await run({}, first);
    const again: JobProgress[] = [];
    const resumed = await run({ resume: { jobOfferId: done.jobOfferId } }, again);
    expect(resumed).toMatchObject({ dealId: done.dealId, resultCID: done.resultCID, state: 'Accepted' });
    expect(resumed.stdout).toContain('accepted once');
    const accepted = (events: JobProgress[]) => events.find((e) => e.type === 'job:accepted');
    expect(accepted(again)).toEqual(accepted(first));
    expect(again.map((e) => e.type)).not.toContain('job:offer-posted');
  }, 120_000);
});
