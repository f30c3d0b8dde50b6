/**
 * Verification on an in-process devnet, cowsay:
 * - `verify_local_overhead_ratio`: median time of a job with `--check local` (the job run again here before it
 *   is accepted) over the median time of the same job with `--check accept`, start to settled, warm;
 * - `e2e_mediation_ms`: median time from the challenge transaction to the verdict settled on-chain (the
 *   mediator's fetch, re-run and verdict; read by the job creator polling the chain every 50 ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { devAccount } from '../src/chain/dev-accounts.js';
import { startDevnet } from '../src/devnet/devnet.js';
import { parseCheck } from '../src/job-creator/check.js';
import { runJob } from '../src/job-creator/run-job.js';
import { defaults } from '../src/protocol/defaults.js';

export const name = 'verification';
const RUNS = 10;
const MEDIATIONS = 5;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

export async function run(): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-bench-verification-'));
  const devnet = await startDevnet({ dataDir: join(dataDir, 'devnet'), logger: pino({ level: 'silent' }) });
  let jobs = 0;
  const once = async (check: string) => {
    let challengedAt = 0;
    let settledAt = 0;
    const started = performance.now();
    const result = await runJob({
      network: devnet.network,
      privateKey: devAccount('jobCreator').privateKey,
      dataDir,
      module: 'cowsay:v0.0.1',
      inputs: { Message: `verification bench ${++jobs}` },
      maxPrice: defaults.maxPrice,
      mediationFee: defaults.mediationFee,
      mediators: devnet.mediators,
      check: parseCheck(check),
      chainPollMs: 50,
      onProgress: (event) => {
        if (event.type === 'job:challenged') challengedAt = performance.now();
        if (event.type === 'job:settled') settledAt = performance.now();
      },
    });
    if (check === 'p=1' && result.state !== 'MediationAccepted')
      throw new Error(`mediation ended ${result.state}`);
    return { ms: performance.now() - started, mediationMs: settledAt - challengedAt };
  };
  try {
    await once('accept');
    await once('local'); // warm-up: the local executor's first run
    const accept: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      accept.push((await once('accept')).ms);
      local.push((await once('local')).ms);
    }
    const mediation: number[] = [];
    for (let i = 0; i < MEDIATIONS; i++) mediation.push((await once('p=1')).mediationMs);
    return {
      verify_local_overhead_ratio: median(local) / median(accept),
      e2e_mediation_ms: median(mediation),
    };
  } finally {
    await devnet.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
