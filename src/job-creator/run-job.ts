/**
 * The job creator's side of one job: resolve the module, sign the job offer, follow the deal, sign it
 * once it is exactly the deal derived from our offer, download the result verifying every block
 * against its CID, check it as asked (check.ts) and accept it on-chain, or challenge it and follow the
 * mediation to its verdict. A provider that misses its submit deadline is timed out by us.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CID } from 'multiformats/cid';
import { type Address, formatEther, type Hex, zeroAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { lilypadDealsAbi } from '../chain/artifacts/index.js';
import { type LilypadPublicClient, publicClientFor, walletClientFor } from '../chain/clients.js';
import { accept, challenge, dealStatus } from '../chain/deals.js';
import { ensureEscrow } from '../chain/escrow.js';
import type { Executor } from '../executors/executor.js';
import { importFileInputs } from '../modules/file-inputs.js';
import { canonicalInputs, validateInputs } from '../modules/inputs.js';
import { resolveModule } from '../modules/resolve.js';
import { DealState, dealStateName } from '../protocol/deal-states.js';
import { dealDifferences, deriveDeal } from '../protocol/derive-deal.js';
import {
  type Deal,
  dealTypedData,
  type JobOffer,
  jobOfferId,
  jobOfferTypedData,
  PricingMode,
  type ResourceOffer,
  resourceOfferId,
} from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { signingFetch } from '../protocol/signed-request.js';
import { SolverClient } from '../protocol/solver-client.js';
import type { SolverEvent } from '../protocol/wire.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { exportCar } from '../storage/car.js';
import { importFolder } from '../storage/unixfs.js';
import { downloadFolder } from '../storage/verified-fetch.js';
import { type CheckOutcome, type ResultCheck, runCheck } from './check.js';
import { acceptedMoney, followDeal, type JobCreatorMoney, jobCreatorMoney } from './follow-deal.js';
import type { JobProgress } from './progress.js';

export type RunJobOptions = {
  network: NetworkConfig;
  privateKey: Hex;
  /** Holds `downloaded-files/<result CID>/` and the local block cache. */
  dataDir: string;
  /** A module reference (see resolveModule): `name:version`, a folder, `repo:tag` or a CID. */
  module: string;
  /** The registry index for `name:version` beyond the built-in ones (URL or file). */
  moduleIndex?: string;
  inputs: Record<string, string>;
  /** The most this job may cost (the payment collateral P), in token units. */
  maxPrice: bigint;
  mediationFee: bigint;
  mediators: Address[];
  pricingMode?: PricingMode;
  target?: Address;
  timeouts?: { submit: number; judge: number; mediate: number };
  /** How long the offer stays open for matching, in seconds. */
  offerTtlSeconds?: number;
  /** How the result is checked before it is paid for (default: accept). */
  check?: ResultCheck;
  /** Executors for a `local` check (default: new ones). */
  executors?: Partial<Record<Executor['kind'], Executor>>;
  /** The coin of a `p=X` check (default Math.random). */
  random?: () => number;
  /** How often deadlines and mediations are read from the chain. */
  chainPollMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: JobProgress) => void;
  /**
   * Follow a job offer this account posted before (by a process that stopped) instead of posting one:
   * the job goes on from where the solver and the chain say it is, to its end.
   */
  resume?: { jobOfferId: Hex };
  /** The deal's inputs and result are served by the directory to its members only (its module stays public). */
  private?: boolean;
};

export type JobResult = {
  jobOfferId: Hex;
  dealId: Hex;
  resultCID: string;
  resultDir: string;
  stdout: string;
  exitCode: number;
  cost: bigint;
  check: CheckOutcome;
  /** The deal's final on-chain state: Accepted, or after a challenge MediationAccepted / MediationRejected / TimedOutMediate. */
  state: string;
  money: JobCreatorMoney;
};

export class JobFailedError extends LilypadError {
  override name = 'JobFailedError';
}

const DEFAULT_TIMEOUTS = { submit: 300, judge: 60, mediate: 300 };

/**
 * Fetches a result folder from the directory, checking every block against its CID, into
 * `<dataDir>/downloaded-files/<result CID>/`. Written beside, then moved into place: a folder under its CID's
 * name is always complete.
 */
export async function downloadResult(
  solverUrl: string,
  resultCID: string,
  blockstore: Blockstore,
  dataDir: string,
  options: { signal?: AbortSignal | undefined; fetch?: typeof fetch } = {},
): Promise<{ resultDir: string; fetched: { blocks: number; bytes: number } }> {
  const resultDir = join(dataDir, 'downloaded-files', resultCID);
  const partial = `${resultDir}.partial-${randomBytes(4).toString('hex')}`;
  const fetched = await downloadFolder(solverUrl, resultCID, blockstore, partial, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  await rm(resultDir, { recursive: true, force: true });
  await rename(partial, resultDir);
  return { resultDir, fetched };
}

/** A job offer this account posted, as the solver keeps it: checked to be ours and still alive. */
async function postedOffer(solver: SolverClient, network: NetworkConfig, jobCreator: Address, id: Hex) {
  const view = await solver.getJobOffer(id);
  if (jobOfferId(network, view.offer) !== id || view.offer.jobCreator !== jobCreator) {
    throw new JobFailedError(`the solver's job offer ${id} is not the one this account signed`);
  }
  if (view.status === 'expired' || view.status === 'cancelled') {
    throw new JobFailedError(`the job offer ${view.status}${view.reason ? `: ${view.reason}` : ''}`);
  }
  return view.offer;
}

/** The transaction that accepted a deal (this account's, before a restart). */
async function acceptanceTx(client: LilypadPublicClient, network: NetworkConfig, dealId: Hex): Promise<Hex> {
  const logs = await client.getContractEvents({
    address: network.deals,
    abi: lilypadDealsAbi,
    eventName: 'DealStateChanged',
    args: { dealId },
    fromBlock: BigInt(network.deployBlock ?? 0),
  });
  const accepted = logs.find((log) => log.args.state === DealState.Accepted);
  if (!accepted)
    throw new JobFailedError(`deal ${dealId} is accepted, but no DealStateChanged log says when`);
  return accepted.transactionHash;
}

export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const { network, dataDir, signal } = options;
  const progress = options.onProgress ?? (() => {});
  const account = privateKeyToAccount(options.privateKey);
  const publicClient = publicClientFor(network.rpcUrl, network.chainId);
  const wallet = walletClientFor(network.rpcUrl, network.chainId, options.privateKey);
  const solver = new SolverClient(network.solverUrl, account);
  const blockstore = await openBlockstore(join(dataDir, 'blocks'));

  const module = await resolveModule(options.module, {
    cacheDir: join(dataDir, 'modules'),
    gatewayUrl: network.solverUrl,
    ...(options.moduleIndex === undefined ? {} : { index: options.moduleIndex }),
    ...(signal === undefined ? {} : { signal }),
  });
  // `@path` file inputs become CIDs here; their blocks go to the directory with the module.
  const files = await importFileInputs(module.manifest, options.inputs, blockstore);
  const inputs = validateInputs(module.manifest, files.inputs);
  progress({ type: 'job:module-resolved', module: options.module, cid: module.cid });

  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  let offer: JobOffer;
  if (options.resume) {
    offer = await postedOffer(solver, network, account.address, options.resume.jobOfferId);
  } else {
    const deposit = await ensureEscrow(wallet, publicClient, network, options.maxPrice);
    if (deposit) progress({ type: 'job:deposited', amount: deposit.amount, txHash: deposit.hash });
    offer = {
      jobCreator: account.address,
      solver: network.solver,
      module: module.cid,
      inputs: canonicalInputs(inputs),
      spec: module.manifest.spec,
      pricingMode: options.pricingMode ?? PricingMode.market,
      maxPrice: options.maxPrice,
      mediationFee: options.mediationFee,
      mediators: options.mediators,
      target: options.target ?? zeroAddress,
      submitTimeout: BigInt(timeouts.submit),
      judgeTimeout: BigInt(timeouts.judge),
      mediateTimeout: BigInt(timeouts.mediate),
      nonce: BigInt(`0x${randomBytes(16).toString('hex')}`),
      expiry: BigInt(Math.floor(Date.now() / 1000) + (options.offerTtlSeconds ?? 600)),
    };
  }
  const offerId = jobOfferId(network, offer);
  const publish = async (forDeal: Hex, root: CID) => {
    if (!(await solver.hasBlock(root.toString()))) {
      await solver.uploadCar(forDeal, await exportCar(blockstore, root));
    }
  };

  return new Promise<JobResult>((resolve, reject) => {
    let dealId: Hex | undefined;
    let deal: Deal | undefined;
    let finished = false;
    let subscription: { close(): void } | undefined;
    // Stops the chain watchers once the job is over.
    const watchers = new AbortController();
    const watchSignal = signal ? AbortSignal.any([signal, watchers.signal]) : watchers.signal;
    const pollMs = options.chainPollMs ?? 500;
    const finish = (error: unknown, result?: JobResult) => {
      if (finished) return;
      finished = true;
      watchers.abort();
      subscription?.close();
      signal?.removeEventListener('abort', onAbort);
      if (result) resolve(result);
      else reject(error);
    };
    const onAbort = () => finish(new JobFailedError('the job was cancelled', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    // Events are handled one at a time, in order, and only once the offer is posted (the solver may
    // match it before its answer to the post arrives).
    let markPosted: () => void = () => {};
    let queue = new Promise<void>((resolve) => {
      markPosted = resolve;
    });
    const onEvent = (event: SolverEvent) => {
      queue = queue.then(() => handle(event)).catch((error: unknown) => finish(error));
    };

    const handle = async (event: SolverEvent): Promise<void> => {
      if (finished) return;
      switch (event.type) {
        case 'job:queued':
          if (event.jobOfferId === offerId) progress({ type: 'job:queued', reason: event.reason });
          return;
        case 'deal:proposed': {
          if (event.deal.jobOffer !== offerId || dealId) return;
          checkDeal(event.resourceOffer.offer, event.deal);
          dealId = event.dealId;
          deal = event.deal;
          progress({ type: 'job:matched', dealId, deal, resourceProvider: deal.resourceProvider });
          // The provider fetches the module from the directory; publish it before agreeing.
          if (!(await solver.hasBlock(module.cid))) {
            const root = await importFolder(blockstore, module.dir);
            if (root.toString() !== module.cid)
              throw new JobFailedError(`module ${options.module} changed while running`);
            await solver.uploadCar(dealId, await exportCar(blockstore, root));
          }
          for (const root of files.roots) await publish(dealId, root);
          await solver.signDeal(dealId, await account.signTypedData(dealTypedData(network, deal)));
          return;
        }
        case 'deal:agreed':
          if (event.dealId !== dealId || !deal) return;
          progress({ type: 'job:agreed', dealId, txHash: event.txHash });
          watchSubmitDeadline(dealId, deal);
          return;
        case 'deal:running':
          if (event.dealId === dealId) progress({ type: 'job:running', dealId });
          return;
        case 'deal:cancelled': {
          if (event.dealId !== dealId) return;
          dealId = undefined;
          deal = undefined;
          const job = await solver.getJobOffer(offerId);
          // Back on the market, and perhaps already matched again (its proposal is the next event).
          if (job.status !== 'queued' && job.status !== 'matched')
            throw new JobFailedError(`the deal was cancelled: ${event.reason}`);
          progress({
            type: 'job:queued',
            reason: `the matched deal was cancelled (${event.reason}); waiting for another`,
          });
          return;
        }
        case 'deal:results-submitted': {
          if (event.dealId !== dealId || !deal) return;
          progress({ type: 'job:results-submitted', dealId, resultCID: event.resultCID, cost: event.cost });
          const { resultDir, fetched } = await downloadResult(
            network.solverUrl,
            event.resultCID,
            blockstore,
            dataDir,
            // Signed: a private deal's result is served to its members only.
            { signal, fetch: signingFetch(account) },
          );
          progress({ type: 'job:result-verified', resultCID: event.resultCID, path: resultDir, ...fetched });
          const check = await runCheck(options.check ?? { kind: 'accept' }, {
            moduleDir: module.dir,
            manifest: module.manifest,
            inputs,
            dealId,
            deal,
            claimedCID: event.resultCID,
            claimedDir: resultDir,
            workDir: join(dataDir, 'checks'),
            executors: options.executors,
            random: options.random,
            signal,
          });
          progress({ type: 'job:checked', dealId, ...check });
          let state: DealState = DealState.Accepted;
          if (check.challenge) {
            const { hash } = await challenge(wallet, network, deal);
            progress({ type: 'job:challenged', dealId, txHash: hash, fee: deal.mediationFee });
            ({ state } = await followDeal({
              client: publicClient,
              wallet,
              network,
              deal,
              dealId,
              pollMs,
              signal,
            }));
          } else {
            const hash = await acceptOnce(deal, dealId);
            progress({ type: 'job:accepted', dealId, txHash: hash, cost: event.cost });
          }
          // Accepted: the cost is the one the chain logged with the result.
          const money = check.challenge
            ? await jobCreatorMoney(publicClient, network, deal, dealId, state)
            : acceptedMoney(event.cost);
          if (check.challenge)
            progress({ type: 'job:settled', dealId, state: dealStateName(state), ...money });
          const [stdout, exitCode] = await Promise.all([
            readFile(join(resultDir, 'stdout'), 'utf8'),
            readFile(join(resultDir, 'exitCode'), 'utf8'),
          ]);
          finish(undefined, {
            jobOfferId: offerId,
            dealId,
            resultCID: event.resultCID,
            resultDir,
            stdout,
            exitCode: Number(exitCode.trim()),
            cost: event.cost,
            check,
            state: dealStateName(state),
            money,
          });
          return;
        }
        case 'deal:settled':
          // A timed-out submission is reported by the deadline watcher, with the money.
          if (event.dealId === dealId && event.state !== DealState.TimedOutSubmit)
            throw new JobFailedError(
              `the deal settled (state ${event.state}) before the result was accepted`,
            );
          return;
      }
    };

    /** Throws unless `proposed` is exactly the deal derived from our offer and that resource offer. */
    const checkDeal = (resourceOffer: ResourceOffer, proposed: Deal) => {
      const expected = deriveDeal({
        jobOffer: offer,
        jobOfferId: offerId,
        resourceOffer,
        resourceOfferId: resourceOfferId(network, resourceOffer),
      });
      const differences = dealDifferences(expected, proposed);
      if (differences.length > 0) {
        throw new JobFailedError(
          `the solver proposed a deal that does not follow from the offers (${differences.join(', ')})`,
        );
      }
    };

    // Accepts the result, unless this account already did (before a restart): then that transaction.
    const acceptOnce = async (agreed: Deal, id: Hex): Promise<Hex> => {
      const { state } = await dealStatus(publicClient, network, id);
      if (state === DealState.ResultsSubmitted) return (await accept(wallet, network, agreed)).hash;
      if (state === DealState.Accepted) return acceptanceTx(publicClient, network, id);
      throw new JobFailedError(`the deal is ${dealStateName(state)}: its result can no longer be accepted`);
    };

    /**
     * After a restart: the deal our offer is in, once it is past the proposal (a proposal is sent again
     * on connecting, and signed again). A settled deal is not sent on connecting: an accepted one goes
     * on as a submitted result (downloaded, verified, its acceptance found), any other ends the job.
     */
    const resumeDeal = async (): Promise<void> => {
      const job = await solver.getJobOffer(offerId);
      if (!job.dealId) return;
      const current = await solver.getDeal(job.dealId);
      if (
        current.deal.jobOffer !== offerId ||
        current.status === 'proposed' ||
        current.status === 'cancelled'
      )
        return;
      checkDeal((await solver.getResourceOffer(current.deal.resourceOffer)).offer, current.deal);
      dealId = current.id;
      deal = current.deal;
      if (current.status === 'agreed' || current.status === 'running') watchSubmitDeadline(dealId, deal);
      if (current.status !== 'settled') return;
      const { state } = await dealStatus(publicClient, network, dealId);
      if (state === DealState.Accepted && current.resultCID) {
        onEvent({
          type: 'deal:results-submitted',
          dealId,
          resultCID: current.resultCID,
          instructionCount: current.instructionCount ?? 0n,
          cost: current.cost ?? 0n,
        });
        return;
      }
      const money = await jobCreatorMoney(publicClient, network, deal, dealId, state);
      progress({ type: 'job:settled', dealId, state: dealStateName(state), ...money });
      throw new JobFailedError(
        `the deal settled as ${dealStateName(state)} while the job was not followed: ${money.summary}`,
      );
    };

    // A provider that never submits: once its deadline passes on-chain, we take our payment back with
    // its timeout collateral, and the job fails.
    const watching = new Set<Hex>();
    const watchSubmitDeadline = (id: Hex, agreed: Deal) => {
      if (watching.has(id)) return;
      watching.add(id);
      // Just agreed: its deadline is at least a poll away.
      sleep(pollMs, undefined, { signal: watchSignal })
        .then(() =>
          followDeal({
            client: publicClient,
            wallet,
            network,
            deal: agreed,
            dealId: id,
            pollMs,
            signal: watchSignal,
            whileIn: DealState.Agreed,
          }),
        )
        .then(async ({ state }) => {
          if (state !== DealState.TimedOutSubmit) return;
          const money = await jobCreatorMoney(publicClient, network, agreed, id, state);
          progress({ type: 'job:settled', dealId: id, state: dealStateName(state), ...money });
          finish(
            new JobFailedError(
              `the resource provider did not submit a result in time: ${money.summary} (${formatEther(money.received)} LP)`,
            ),
          );
        })
        .catch((error: unknown) => finish(error));
    };

    (async () => {
      if (options.resume) {
        await resumeDeal();
        // Without `since`, the first connection brings the current state of the account's deals and jobs.
        subscription = await solver.subscribe(onEvent, { signal });
      } else {
        subscription = await solver.subscribe(onEvent, { signal });
        const signature = await account.signTypedData(jobOfferTypedData(network, offer));
        await solver.postJobOffer({ offer, signature }, { private: options.private === true });
        progress({ type: 'job:offer-posted', jobOfferId: offerId });
      }
      markPosted();
    })().catch((error: unknown) => finish(error));
  });
}
