/**
 * Resource provider throughput: cowsay jobs completed per second through the whole protocol (job offer,
 * match, agree, run, upload, submitResult, download and verify, accept) on an in-process devnet whose one
 * provider offers 8 slots, with 8 jobs in flight at a time from one job creator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { devAccount } from '../src/chain/dev-accounts.js';
import { startDevnet } from '../src/devnet/devnet.js';
import { runJob } from '../src/job-creator/run-job.js';
import { defaults } from '../src/protocol/defaults.js';

export const name = 'rp-throughput';
const JOBS = 48;
const IN_FLIGHT = 8;

export async function run(): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-bench-rp-'));
  const devnet = await startDevnet({
    dataDir: join(dataDir, 'devnet'),
    logger: pino({ level: process.env.LILYPAD_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
    slots: 8,
  });
  try {
    const once = (message: string) =>
      runJob({
        network: devnet.network,
        privateKey: devAccount('jobCreator').privateKey,
        dataDir: join(dataDir, 'job-creator', message.replace(/\W/g, '-')),
        module: 'cowsay:v0.0.1',
        inputs: { Message: message },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: devnet.mediators,
      });
    await Promise.all(Array.from({ length: 8 }, (_, i) => once(`warm-up ${i}`)));
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < JOBS) await once(`moo ${next++}`);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const seconds = (performance.now() - started) / 1000;
    return { rp_throughput_jobs_per_s: Math.round((JOBS / seconds) * 10) / 10, rp_throughput_jobs: JOBS };
  } finally {
    await devnet.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
