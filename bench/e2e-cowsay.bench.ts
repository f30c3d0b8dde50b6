/**
 * Cowsay through the whole protocol on an in-process devnet: 20 sequential warm runs, timed from the
 * start of the job (module resolved, offer signed and posted) to the verified result on disk; and the
 * gas of every transaction one job needs on the happy path (agree + submitResult + accept).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Hex, parseEventLogs } from 'viem';
import { lilypadDealsAbi } from '../src/chain/artifacts/index.js';
import { publicClientFor } from '../src/chain/clients.js';
import { devAccounts } from '../src/chain/dev-accounts.js';
import { startDevnet } from '../src/devnet/devnet.js';
import type { JobProgress } from '../src/job-creator/progress.js';
import { runJob } from '../src/job-creator/run-job.js';
import { defaults } from '../src/protocol/defaults.js';

export const name = 'e2e-cowsay';
const RUNS = 20;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

export async function run(): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-bench-'));
  const devnet = await startDevnet({ dataDir: join(dataDir, 'devnet'), logger: pino({ level: 'silent' }) });
  const client = publicClientFor(devnet.network.rpcUrl, devnet.network.chainId);
  const jobCreator = devAccounts.find((a) => a.role === 'jobCreator')?.privateKey as Hex;
  try {
    const once = async (message: string) => {
      const seen: JobProgress[] = [];
      const started = performance.now();
      let verifiedAt = 0;
      const result = await runJob({
        network: devnet.network,
        privateKey: jobCreator,
        dataDir,
        module: 'cowsay:v0.0.1',
        inputs: { Message: message },
        maxPrice: defaults.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: devnet.mediators,
        onProgress: (event) => {
          seen.push(event);
          if (event.type === 'job:result-verified') verifiedAt = performance.now();
        },
      });
      return { ms: verifiedAt - started, seen, result };
    };

    const warm = await once('warm-up');
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push((await once(`moo ${i}`)).ms);
    times.sort((a, b) => a - b);

    // Gas: the three transactions of the warm-up job, found from its events.
    const logs = parseEventLogs({
      abi: lilypadDealsAbi,
      logs: await client.getLogs({ address: devnet.network.deals, fromBlock: 0n }),
    });
    const txs = new Set(
      logs
        // submitResult's one event is ResultsSubmitted; the other transitions emit DealStateChanged.
        .filter(
          (log) =>
            (log.eventName === 'DealStateChanged' || log.eventName === 'ResultsSubmitted') &&
            log.args.dealId === warm.result.dealId,
        )
        .map((log) => log.transactionHash),
    );
    let gas = 0n;
    for (const hash of txs) gas += (await client.getTransactionReceipt({ hash })).gasUsed;

    return {
      e2e_cowsay_p50_ms: Math.round(percentile(times, 50)),
      e2e_cowsay_p99_ms: Math.round(percentile(times, 99)),
      e2e_cowsay_runs: RUNS,
      // Measured on the services' real transactions; contracts-gas.bench.ts measures the contract alone.
      e2e_gas_per_job: Number(gas),
      e2e_transactions_per_job: txs.size,
    };
  } finally {
    await devnet.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
