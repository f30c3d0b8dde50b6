/**
 * The bridge: turns jobs that contracts ask `LilypadJobs` for into job offers, runs each as an ordinary job creator
 * (its own account fronts the deal from its escrow), and settles it on the jobs contract, which calls the client
 * back. Every step is committed to SQLite before the bridge acts on it (bridge-store.ts), and the jobs contract
 * finishes a job at most once, so a killed bridge that restarts neither misses a job nor calls back twice.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import { getBlock, readContract } from 'viem/actions';
import { lilypadJobsAbi } from '../chain/artifacts/index.js';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import { accept, ChainCallError, dealStatus, submittedResultCID, timeoutSubmit } from '../chain/deals.js';
import { deliverResult, jobOf, jobRequests, reportFailure } from '../chain/jobs.js';
import { downloadResult, runJob } from '../job-creator/run-job.js';
import { parseInputPairs, validateInputs } from '../modules/inputs.js';
import { resolveModule } from '../modules/resolve.js';
import { DealState } from '../protocol/deal-states.js';
import { defaults } from '../protocol/defaults.js';
import { type Deal, dealId } from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { type BridgeJob, BridgeStore } from './bridge-store.js';
import { type FailureStatus, JobStatus } from './job-status.js';

export type BridgeOptions = {
  network: NetworkConfig;
  /** The jobs contract whose `bridge` is this account. */
  jobs: Address;
  privateKey: Hex;
  /** Holds bridge.sqlite, the block cache and the downloaded results. */
  dataDir: string;
  logger: Logger;
  mediators: Address[];
  /** How often the chain is read for new jobs and deal states. */
  pollIntervalMs?: number;
  /** How long a job's offer waits for a match before the job fails with NoMatch, in seconds. */
  matchTimeoutSeconds?: number;
  /** The deal timeouts the bridge's job offers ask for, in seconds. */
  timeouts?: { submit: number; judge: number; mediate: number };
};

const DEFAULT_TIMEOUTS = { submit: 300, judge: 60, mediate: 300 };
/** How long a step that failed for a passing reason (an RPC error, a solver restart) waits before its retry. */
const RETRY_MS = 2000;

/** Why the bridge stopped a job's run: its offer found no match in time, or its provider missed the deadline. */
class StopRun extends Error {
  constructor(readonly why: 'no-match' | 'submit-timeout') {
    super(why);
  }
}

export class Bridge {
  readonly #options: BridgeOptions;
  readonly #log: Logger;
  readonly #client: LilypadPublicClient;
  readonly #wallet: LilypadWalletClient;
  readonly #stopping = new AbortController();
  readonly #workers = new Map<bigint, Promise<void>>();
  #store!: BridgeStore;
  #blockstore!: Blockstore;
  #polling: Promise<void> | undefined;

  constructor(options: BridgeOptions) {
    this.#options = options;
    this.#log = options.logger;
    const { rpcUrl, chainId } = options.network;
    this.#client = publicClientFor(rpcUrl, chainId);
    this.#wallet = walletClientFor(rpcUrl, chainId, options.privateKey);
  }

  get address(): Address {
    return this.#wallet.account.address;
  }

  /** Resumes every unfinished job, then follows new `JobRequested` events from the stored cursor. */
  async start(): Promise<void> {
    const named = await readContract(this.#client, {
      address: this.#options.jobs,
      abi: lilypadJobsAbi,
      functionName: 'bridge',
    }).catch((cause: unknown) => {
      throw new LilypadError(`no jobs contract answers at ${this.#options.jobs}`, { cause });
    });
    if (named.toLowerCase() !== this.address.toLowerCase()) {
      throw new LilypadError(
        `the jobs contract ${this.#options.jobs} is bridged by ${named}, not ${this.address}`,
        {
          hint: "set WEB3_PRIVATE_KEY to the bridge's key, or deploy a jobs contract that names this account",
        },
      );
    }
    await mkdir(this.#options.dataDir, { recursive: true });
    this.#store = new BridgeStore(join(this.#options.dataDir, 'bridge.sqlite'), this.#options.jobs);
    this.#blockstore = await openBlockstore(join(this.#options.dataDir, 'blocks'));
    const resumed = this.#store.unfinished();
    if (resumed.length > 0) this.#log.info({ jobs: resumed.map((j) => String(j.jobId)) }, 'resuming jobs');
    for (const job of resumed) this.#spawn(job.jobId);
    this.#polling = this.#pollLoop();
    this.#log.info({ jobs: this.#options.jobs, bridge: this.address }, 'bridge started');
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#polling;
    await Promise.allSettled([...this.#workers.values()]);
    this.#store?.close();
  }

  /** The bridge's record of a job (for tests and diagnostics). */
  job(jobId: bigint): BridgeJob | undefined {
    return this.#store.get(jobId);
  }

  get #signal(): AbortSignal {
    return this.#stopping.signal;
  }

  #interval(): number {
    return this.#options.pollIntervalMs ?? 1000;
  }

  async #pollLoop(): Promise<void> {
    while (!this.#signal.aborted) {
      try {
        await this.#poll();
      } catch (error) {
        this.#log.warn({ err: error }, 'reading job requests failed; retrying');
      }
      await sleep(this.#interval(), undefined, { signal: this.#signal }).catch(() => {});
    }
  }

  async #poll(): Promise<void> {
    const latest = await this.#client.getBlockNumber({ cacheTime: 0 });
    const from = (this.#store.cursor() ?? -1n) + 1n;
    if (from > latest) return;
    const requests = await jobRequests(this.#client, this.#options, from, latest);
    for (const job of this.#store.addRequests(requests, latest)) {
      this.#log.info({ jobId: String(job.jobId), client: job.client, module: job.module }, 'job requested');
      this.#spawn(job.jobId);
    }
  }

  #spawn(jobId: bigint): void {
    if (this.#workers.has(jobId)) return;
    const worker = this.#work(jobId).finally(() => this.#workers.delete(jobId));
    this.#workers.set(jobId, worker);
  }

  /** Takes one job through its steps until it is finished (or the bridge stops); a failed step is retried. */
  async #work(jobId: bigint): Promise<void> {
    for (;;) {
      if (this.#signal.aborted) return;
      const job = this.#store.get(jobId);
      if (!job || job.step === 'finished') return;
      try {
        if (job.step === 'requested') await this.#run(job);
        else if (job.step === 'dealt') await this.#followDeal(job, job.deal as Deal);
        else await this.#deliver(job);
      } catch (error) {
        if (this.#signal.aborted) return;
        this.#log.warn({ jobId: String(jobId), step: job.step, err: error }, 'job step failed; retrying');
        await sleep(RETRY_MS, undefined, { signal: this.#signal }).catch(() => {});
      }
    }
  }

  /** True when the job is still pending on-chain; otherwise records how it ended (settled before a restart). */
  async #stillPending(job: BridgeJob): Promise<boolean> {
    const { status } = await jobOf(this.#client, this.#options, job.jobId);
    if (status === JobStatus.Pending) return true;
    this.#store.finish(job.jobId, JobStatus[status]);
    return false;
  }

  /** Offers the job and runs it as its job creator, up to the accepted result. */
  async #run(job: BridgeJob): Promise<void> {
    if (!(await this.#stillPending(job))) return;
    let inputs: Record<string, string>;
    try {
      const module = await resolveModule(job.module);
      inputs = validateInputs(module.manifest, parseInputPairs(job.inputs));
    } catch (error) {
      if (!(error instanceof LilypadError)) throw error;
      return this.#fail(job, JobStatus.Failed, error.message);
    }
    const matchTimeout = this.#options.matchTimeoutSeconds ?? 300;
    const timeouts = this.#options.timeouts ?? DEFAULT_TIMEOUTS;
    const run = new AbortController();
    const onStop = () => run.abort(this.#signal.reason);
    this.#signal.addEventListener('abort', onStop, { once: true });
    const stopRun = (why: StopRun['why'], seconds: number) =>
      setTimeout(() => run.abort(new StopRun(why)), seconds * 1000);
    let timer = stopRun('no-match', matchTimeout);
    const log = this.#log.child({ jobId: String(job.jobId) });
    try {
      const result = await runJob({
        network: this.#options.network,
        privateKey: this.#options.privateKey,
        dataDir: this.#options.dataDir,
        module: job.module,
        inputs,
        maxPrice: job.maxPrice,
        mediationFee: defaults.mediationFee,
        mediators: this.#options.mediators,
        timeouts,
        offerTtlSeconds: matchTimeout,
        signal: run.signal,
        onProgress: (event) => {
          if (event.type === 'job:matched') this.#store.setDeal(job.jobId, event.deal);
          if (event.type === 'job:agreed') {
            clearTimeout(timer);
            // A provider that posts nothing: stop waiting a little after the deadline and settle it on-chain.
            timer = stopRun('submit-timeout', timeouts.submit + 5);
          }
          log.info(
            { event: event.type, ...('dealId' in event ? { dealId: event.dealId } : {}) },
            'job progress',
          );
        },
      });
      this.#store.setResult(job.jobId, result.resultCID);
    } catch (error) {
      if (this.#signal.aborted) return;
      const reason: unknown = run.signal.reason;
      const step = this.#store.get(job.jobId)?.step;
      // Matched at least once: the chain tells what became of the deal (followDeal).
      if (step === 'dealt') return;
      if (reason instanceof StopRun && reason.why === 'no-match') {
        return this.#fail(job, JobStatus.NoMatch, `no match within ${matchTimeout} s`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      this.#signal.removeEventListener('abort', onStop);
    }
  }

  /**
   * Takes a job whose deal is known to its end from the chain alone: after a restart, or when its run stopped
   * waiting. A result is downloaded, verified and accepted; a missed deadline is settled with `timeoutSubmit`.
   */
  async #followDeal(job: BridgeJob, deal: Deal): Promise<void> {
    if (!(await this.#stillPending(job))) return;
    const network = this.#options.network;
    const id = dealId(network, deal);
    for (;;) {
      this.#signal.throwIfAborted();
      const [status, now] = await Promise.all([
        dealStatus(this.#client, network, id),
        getBlock(this.#client, { blockTag: 'latest' }).then((b) => b.timestamp),
      ]);
      switch (status.state) {
        case DealState.None:
          // Never agreed: once the deal has expired it never will be.
          if (now > deal.expiry)
            return this.#fail(job, JobStatus.NoMatch, 'the matched deal was never agreed');
          break;
        case DealState.Agreed:
          if (now > BigInt(status.agreedAt) + deal.submitTimeout) {
            await timeoutSubmit(this.#wallet, network, deal).catch((error: unknown) => {
              if (!(error instanceof ChainCallError && error.errorName === 'WrongState')) throw error;
            });
            continue;
          }
          break;
        case DealState.ResultsSubmitted:
        case DealState.Accepted:
        case DealState.MediationAccepted: {
          const resultCID = await submittedResultCID(this.#client, network, id);
          await downloadResult(network.solverUrl, resultCID, this.#blockstore, this.#options.dataDir, {
            signal: this.#signal,
          });
          if (status.state === DealState.ResultsSubmitted) await accept(this.#wallet, network, deal);
          this.#store.setResult(job.jobId, resultCID);
          return;
        }
        case DealState.TimedOutSubmit:
          return this.#fail(job, JobStatus.TimedOut, 'the provider posted no result in time');
        case DealState.MediationRejected:
          return this.#fail(job, JobStatus.Rejected, 'the mediators found the result wrong');
        case DealState.TimedOutMediate:
          return this.#fail(job, JobStatus.Failed, 'the mediation timed out');
        case DealState.Challenged:
          break;
      }
      await sleep(this.#interval(), undefined, { signal: this.#signal });
    }
  }

  /** Settles the job with its accepted deal: the jobs contract pays and calls the client back, once. */
  async #deliver(job: BridgeJob): Promise<void> {
    if (!(await this.#stillPending(job))) return;
    const { hash } = await deliverResult(
      this.#wallet,
      this.#options,
      job.jobId,
      job.deal as Deal,
      job.resultCID as string,
    );
    this.#store.finish(job.jobId, JobStatus[JobStatus.Succeeded]);
    this.#log.info({ jobId: String(job.jobId), resultCID: job.resultCID, tx: hash }, 'result delivered');
  }

  async #fail(job: BridgeJob, status: FailureStatus, reason: string): Promise<void> {
    if (!(await this.#stillPending(job))) return;
    const { hash } = await reportFailure(this.#wallet, this.#options, job.jobId, status);
    this.#store.finish(job.jobId, `${JobStatus[status]}: ${reason}`);
    this.#log.info(
      { jobId: String(job.jobId), status: JobStatus[status], reason, tx: hash },
      'failure reported',
    );
  }
}
