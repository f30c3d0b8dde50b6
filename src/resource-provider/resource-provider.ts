/**
 * `lilypad resource-provider`: keeps signed resource offers open at the solver (one per slot: a job it can
 * run at the same time as the others), signs the deals the solver proposes for them (after re-deriving each
 * deal from its own offer, and only while it has a free slot), runs the job, publishes the result bundle to
 * the directory, submits the result on-chain and collects payment: on the job creator's `accept`, or with
 * `timeoutJudgeMany` when the job creator stays silent.
 *
 * Every step of every deal is committed to the state store (state-store.ts) before the next one starts, and
 * each deal is moved on by one function, `#advance`, that reads where the chain and the store say the deal
 * is: after a crash or a SIGKILL at any step, the restarted provider re-runs a job that was running, uploads
 * and submits a result that was not submitted, and settles a deal whose judging window has passed.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import { type Address, formatEther, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import { type DealStatus, dealStatus, escrowBalance, Role, submitResultBatcher } from '../chain/deals.js';
import { ensureEscrow } from '../chain/escrow.js';
import { registerService } from '../chain/registry.js';
import type { Executor } from '../executors/executor.js';
import { DealState, dealStateName, isFinal } from '../protocol/deal-states.js';
import { defaults } from '../protocol/defaults.js';
import { dealDifferences, deriveDeal } from '../protocol/derive-deal.js';
import {
  dealTypedData,
  jobOfferId,
  type MachineSpec,
  resourceOfferId,
  resourceOfferTypedData,
} from '../protocol/eip712.js';
import type { NetworkConfig } from '../protocol/network.js';
import { signingFetch } from '../protocol/signed-request.js';
import { SolverClient } from '../protocol/solver-client.js';
import type { SolverEvent } from '../protocol/wire.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { exportCar } from '../storage/car.js';
import { describeSlots, type Machine, slotsFor } from './capacity.js';
import { JobRunner } from './job-runner.js';
import { type ProviderGauges, startMetricsServer } from './metrics.js';
import { OfferKeeper, type OfferTerms } from './offer-keeper.js';
import { collateralNeeded, type ResourceProviderPricing } from './pricing.js';
import { JudgeSettler } from './settlement.js';
import { type DealStep, ProviderStore, type StoredProviderDeal } from './state-store.js';

export { instructionBudget, type ResourceProviderPricing } from './pricing.js';

export type ResourceProviderOptions = {
  network: NetworkConfig;
  privateKey: Hex;
  dataDir: string;
  logger: Logger;
  /** What one job is offered: each open offer is for a job of this size. */
  spec: MachineSpec;
  pricing: ResourceProviderPricing;
  mediators: Address[];
  /** Jobs run at once: one open resource offer each. With `machine`, at most as many as fit on it. */
  slots?: number;
  /** The whole machine (capacity.ts probeMachine): the slots never ask more of it than it has. */
  machine?: Machine;
  /** Module CIDs this provider will run; empty for any. */
  modules?: string[];
  /** Prices for particular modules, by CID: each gets offers of its own that name it alone. */
  modulePricing?: Record<string, ResourceProviderPricing>;
  offerTtlSeconds?: number;
  /** Executors by the manifest's `executor`; any not given is created on its first job. */
  executors?: Partial<Record<Executor['kind'], Executor>>;
  /** Serve Prometheus text on GET /metrics at this port (0: any free port; see `metricsPort`). */
  metricsPort?: number;
  /** The mediation fee the results collateral estimate of `collateralNeeded` uses as its floor. */
  mediationFee?: bigint;
};

/** Where a provider keeps its state, under its data dir. */
export const stateFile = (dataDir: string) => join(dataDir, 'state.sqlite');

const PAID = new Set<number>([DealState.Accepted, DealState.MediationAccepted]);
const short = (id: Hex) => `${id.slice(0, 10)}…`;

export class ResourceProvider {
  readonly account: LocalAccount;
  readonly #options: ResourceProviderOptions;
  readonly #log: Logger;
  readonly #solver: SolverClient;
  readonly slots: number;
  #public!: LilypadPublicClient;
  #wallet!: LilypadWalletClient;
  /** Results finished while one is being submitted go together in one `submitResults`. */
  #results!: ReturnType<typeof submitResultBatcher>;
  #blockstore!: Blockstore;
  #store!: ProviderStore;
  #runner!: JobRunner;
  #settler!: JudgeSettler;
  #offers!: OfferKeeper;
  #metrics: { port: number; close(): Promise<void> } | undefined;
  #subscription: { close(): void } | undefined;
  readonly #advancing = new Map<Hex, Promise<void>>();
  readonly #again = new Set<Hex>();
  /** Deals whose last step failed (a full disk, a solver or chain out of reach): failures so far, and the retry. */
  readonly #retries = new Map<Hex, { failures: number; timer: NodeJS.Timeout }>();
  readonly #work = new Set<Promise<unknown>>();
  /** Results on their way on-chain: each frees a slot once submitted. */
  readonly #submitting = new Set<Promise<void>>();
  #depositCheckedAt = 0;
  #stopped = false;

  constructor(options: ResourceProviderOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.account = privateKeyToAccount(options.privateKey);
    this.#solver = new SolverClient(options.network.solverUrl, this.account);
    const requested = options.slots ?? (options.machine ? Number.POSITIVE_INFINITY : 1);
    const fit = options.machine ? slotsFor(options.machine, options.spec).slots : Number.POSITIVE_INFINITY;
    this.slots = Math.min(requested, fit);
    if (!Number.isFinite(this.slots)) this.slots = 1;
  }

  get address(): Address {
    return this.account.address;
  }

  /** The port of the metrics endpoint, once started with `metricsPort`. */
  get metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  async start(): Promise<void> {
    const { network, dataDir, machine, spec } = this.#options;
    if (this.slots < 1) {
      throw new Error(
        `this machine cannot run one job of the offered spec: ${describeSlots(machine as Machine, spec, slotsFor(machine as Machine, spec))}`,
      );
    }
    await mkdir(join(dataDir, 'modules'), { recursive: true });
    await mkdir(join(dataDir, 'results'), { recursive: true });
    this.#blockstore = await openBlockstore(join(dataDir, 'blocks'));
    this.#store = new ProviderStore(stateFile(dataDir));
    this.#store.setSlots(this.slots);
    this.#public = publicClientFor(network.rpcUrl, network.chainId);
    this.#wallet = walletClientFor(network.rpcUrl, network.chainId, this.#options.privateKey);
    this.#results = submitResultBatcher(this.#wallet, network);
    this.#runner = new JobRunner({
      dataDir,
      solverUrl: network.solverUrl,
      blockstore: this.#blockstore,
      executors: this.#options.executors,
      fetch: signingFetch(this.account),
    });
    this.#settler = new JudgeSettler({
      wallet: this.#wallet,
      client: this.#public,
      network,
      logger: this.#log,
      onSettled: (ids) => {
        for (const id of ids) this.#advance(id);
      },
    });
    this.#offers = new OfferKeeper({
      solver: this.#solver,
      store: this.#store,
      logger: this.#log,
      slots: this.slots,
      ttlSeconds: this.#options.offerTtlSeconds ?? 24 * 3600,
      groups: this.#offerGroups(),
      terms: (group) => this.#offerTerms(group),
      sign: (offer) => this.account.signTypedData(resourceOfferTypedData(network, offer)),
      idOf: (offer) => resourceOfferId(network, offer),
    });
    // The users' registry names this account a resource provider (one transaction, on the first start only).
    await registerService(this.#wallet, network, { roles: Role.resourceProvider });
    // Enough free balance for the collateral of every slot.
    await ensureEscrow(this.#wallet, this.#public, network, this.#collateralNeeded());
    // The first job should not pay for starting a worker thread.
    await this.#runner.executorFor('wasm').warmUp?.();
    this.#subscription = await this.#solver.subscribe((event) => this.#onEvent(event));
    for (const deal of this.#store.openDeals()) this.#advance(deal.id);
    await this.#offers.start();
    if (this.#options.metricsPort !== undefined) {
      this.#metrics = await startMetricsServer(this.#options.metricsPort, () => this.gauges());
    }
    this.#log.info(
      {
        address: this.address,
        slots: this.slots,
        ...(machine ? { capacity: describeSlots(machine, spec, slotsFor(machine, spec)) } : {}),
        metricsPort: this.#metrics?.port,
      },
      'resource provider started',
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const { timer } of this.#retries.values()) clearTimeout(timer);
    this.#subscription?.close();
    await this.#offers?.stop();
    await this.#settler?.stop();
    await Promise.allSettled([...this.#work]);
    await this.#metrics?.close();
    this.#store?.close();
  }

  /** The operator's figures, as `status` and the metrics endpoint show them. */
  gauges(): ProviderGauges {
    return { ...this.#store.figures(), slots: this.slots, openOffers: this.#offers.count };
  }

  #offerGroups(): { pricing: ResourceProviderPricing; modules: string[] }[] {
    const { pricing, modules = [], modulePricing = {} } = this.#options;
    return [
      { pricing, modules },
      ...Object.entries(modulePricing).map(([cid, price]) => ({ pricing: price, modules: [cid] })),
    ];
  }

  #offerTerms(group: { pricing: ResourceProviderPricing; modules: string[] }): OfferTerms {
    const { network, spec, mediators } = this.#options;
    return {
      resourceProvider: this.address,
      solver: network.solver,
      spec,
      ...group.pricing,
      mediators,
      modules: group.modules,
    };
  }

  #collateralNeeded(): bigint {
    const busy = this.#store.busySlots();
    return collateralNeeded(this.#options.pricing, this.#options.mediationFee ?? defaults.mediationFee, {
      free: Math.max(0, this.slots - busy),
      busy,
    });
  }

  #track<T>(work: Promise<T>): void {
    this.#work.add(work);
    work
      .catch((error: unknown) => this.#log.error({ err: error }, 'resource provider task failed'))
      .finally(() => this.#work.delete(work));
  }

  #onEvent(event: SolverEvent): void {
    if (this.#stopped) return;
    switch (event.type) {
      case 'deal:proposed':
        if (event.deal.resourceProvider.toLowerCase() === this.address.toLowerCase()) {
          this.#track(this.#signProposal(event));
        }
        return;
      // `deal:running` is this provider's own mark: nothing to move on.
      case 'deal:agreed':
      case 'deal:results-submitted':
      case 'deal:settled':
        if (this.#store.getDeal(event.dealId)) this.#advance(event.dealId);
        return;
      case 'deal:cancelled': {
        // Its slot is free at once: the solver may propose the offer again before #advance has looked.
        const stored = this.#store.getDeal(event.dealId);
        if (!stored) return;
        if (stored.step === 'signed') this.#store.update(event.dealId, { step: 'withdrawn' });
        this.#advance(event.dealId);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Signs a proposed deal only if it is exactly the deal derived from one of this provider's offers, and only
   * while a slot is free: the check and the record are one synchronous step, so two proposals arriving
   * together cannot both take the last slot.
   */
  async #signProposal(event: Extract<SolverEvent, { type: 'deal:proposed' }>): Promise<void> {
    const { network } = this.#options;
    const offer = event.resourceOffer.offer;
    if (offer.resourceProvider.toLowerCase() !== this.address.toLowerCase()) return;
    const expected = deriveDeal({
      jobOffer: event.jobOffer.offer,
      jobOfferId: jobOfferId(network, event.jobOffer.offer),
      resourceOffer: offer,
      resourceOfferId: resourceOfferId(network, offer),
    });
    const differences = dealDifferences(expected, event.deal);
    if (differences.length > 0) {
      this.#log.warn(
        { dealId: event.dealId, differences },
        'refusing a proposed deal that does not follow from the offers',
      );
      return;
    }
    if (!this.#store.getDeal(event.dealId) && this.#store.busySlots() >= this.slots) {
      // A result being submitted frees its slot, and the solver proposes the offer again as soon as it reads the
      // result on-chain, which may be before the receipt is back here.
      await Promise.allSettled([...this.#submitting]);
    }
    if (!this.#store.getDeal(event.dealId)) {
      const busy = this.#store.busySlots();
      if (busy >= this.slots) {
        this.#log.warn(
          { dealId: event.dealId, busy, slots: this.slots },
          'refusing a proposed deal: every slot is busy',
        );
        this.#offers.lost(event.deal.resourceOffer);
        // Withdrawn at once, so the job goes back to the market now rather than when the proposal times out.
        await this.#solver.cancelResourceOffer(event.deal.resourceOffer).catch(() => {});
        return;
      }
      this.#store.addDeal(event.dealId, event.deal, event.jobOffer.offer);
      this.#logStep(event.dealId, 'signed', { module: event.jobOffer.offer.module });
    }
    await this.#sendSignature({ id: event.dealId, deal: event.deal });
  }

  async #sendSignature({ id, deal }: Pick<StoredProviderDeal, 'id' | 'deal'>): Promise<void> {
    const signature = await this.account.signTypedData(dealTypedData(this.#options.network, deal));
    await this.#solver.signDeal(id, signature);
  }

  /** Moves a deal on from where it is; one at a time per deal, and once more if asked while it ran. */
  #advance(id: Hex): void {
    if (this.#stopped) return;
    if (this.#advancing.has(id)) {
      this.#again.add(id);
      return;
    }
    const work = this.#advanceOnce(id)
      .then(
        () => {
          this.#retries.delete(id);
        },
        (error: unknown) => this.#retryLater(id, error),
      )
      .finally(() => {
        this.#advancing.delete(id);
        if (this.#again.delete(id)) this.#advance(id);
      });
    this.#advancing.set(id, work);
    this.#track(work);
  }

  /**
   * A step that failed is tried again, with backoff up to 30 s: nothing else would wake a deal whose upload or
   * submission failed once its cause is gone, and its submit deadline runs.
   */
  #retryLater(id: Hex, error: unknown): void {
    if (this.#stopped) return;
    const failures = (this.#retries.get(id)?.failures ?? 0) + 1;
    const delayMs = Math.min(500 * 2 ** failures, 30_000);
    this.#log.warn({ err: error, dealId: id, retryInMs: delayMs }, 'a deal step failed; trying again');
    const timer = setTimeout(() => this.#advance(id), delayMs);
    timer.unref();
    this.#retries.set(id, { failures, timer });
  }

  async #advanceOnce(id: Hex): Promise<void> {
    let stored = this.#store.getDeal(id);
    if (!stored || stored.step === 'settled') return;
    const status = await dealStatus(this.#public, this.#options.network, id);
    if (isFinal(status.state)) return this.#settled(stored, status);
    if (status.state === DealState.None) {
      // Never agreed: the solver cancels a proposal that was not signed by both in time.
      const view = await this.#solver.getDeal(id).catch(() => undefined);
      if (view?.status === 'cancelled') this.#settled(stored, status);
      // Signed here but perhaps never sent (killed in between): sending it again is harmless.
      else if (view?.status === 'proposed') await this.#sendSignature(stored);
      return;
    }
    if (status.state === DealState.Agreed) {
      if (stored.step === 'signed' || stored.step === 'withdrawn' || stored.step === 'running') {
        stored = await this.#run(stored);
        // A slot is free again: replace any offer lost while every slot was busy.
        this.#track(this.#offers.maintain());
      }
      if (stored.step === 'ran') stored = await this.#upload(stored);
      if (stored.step === 'uploaded') {
        const submitting = this.#submit(stored);
        this.#submitting.add(submitting);
        await submitting.finally(() => this.#submitting.delete(submitting));
      }
      return;
    }
    // ResultsSubmitted, or Challenged (the mediators decide; the settled event comes): waiting to be paid.
    if (stored.step !== 'submitted') {
      this.#store.update(id, { step: 'submitted', cost: status.cost, resultsAt: status.resultsAt });
      this.#logStep(id, 'submitted', { cost: formatEther(status.cost) });
    }
    if (status.state === DealState.ResultsSubmitted)
      this.#settler.schedule(id, stored.deal, status.resultsAt);
    else this.#settler.forget(id);
  }

  async #run(stored: StoredProviderDeal): Promise<StoredProviderDeal> {
    const { id, deal, jobOffer } = stored;
    this.#store.update(id, { step: 'running' });
    this.#logStep(id, 'running', { rerun: stored.step === 'running' });
    this.#solver.markRunning(id).catch(() => {}); // progress only; the chain is the record
    const { result, cid, module } = await this.#runner.run(id, deal, jobOffer);
    this.#store.update(id, {
      step: 'ran',
      resultCID: cid.toString(),
      instructionCount: result.instructionCount,
    });
    this.#logStep(id, 'ran', {
      module,
      status: result.status,
      exitCode: result.exitCode,
      instructionCount: result.instructionCount.toString(),
      wallTimeMs: result.trace.wallTimeMs,
      memoryPeakBytes: result.trace.memoryPeakBytes,
    });
    return this.#store.getDeal(id) as StoredProviderDeal;
  }

  async #upload(stored: StoredProviderDeal): Promise<StoredProviderDeal> {
    const cid = CID.parse(stored.resultCID as string);
    await this.#solver.uploadCar(stored.id, await exportCar(this.#blockstore, cid));
    this.#store.update(stored.id, { step: 'uploaded' });
    this.#logStep(stored.id, 'uploaded', { resultCID: stored.resultCID });
    return { ...stored, step: 'uploaded' };
  }

  async #submit(stored: StoredProviderDeal): Promise<void> {
    const cid = CID.parse(stored.resultCID as string);
    const { hash, cost } = await this.#results.call({
      deal: stored.deal,
      resultCID: cid.bytes,
      instructionCount: stored.instructionCount ?? 0n,
    });
    const status = await dealStatus(this.#public, this.#options.network, stored.id);
    this.#store.update(stored.id, { step: 'submitted', cost, resultsAt: status.resultsAt });
    this.#logStep(stored.id, 'submitted', { tx: hash, cost: formatEther(cost) });
    this.#settler.schedule(stored.id, stored.deal, status.resultsAt);
    this.#checkDeposit();
  }

  #settled(stored: StoredProviderDeal, status: DealStatus): void {
    const earned = PAID.has(status.state) ? status.cost : 0n;
    this.#store.update(stored.id, { step: 'settled', chainState: status.state, earned });
    this.#settler.forget(stored.id);
    this.#logStep(stored.id, 'settled', { state: dealStateName(status.state), earned: formatEther(earned) });
    this.#checkDeposit();
  }

  /** One status line per deal step: what an operator follows in the log. */
  #logStep(id: Hex, step: DealStep, fields: Record<string, unknown> = {}): void {
    this.#log.info({ dealId: id, step, ...fields }, `deal ${short(id)} ${step}`);
  }

  /** Warns, at most every few seconds, when the free balance no longer covers what the open offers may lock. */
  #checkDeposit(): void {
    const now = Date.now();
    if (now - this.#depositCheckedAt < 5000) return;
    this.#depositCheckedAt = now;
    this.#track(
      escrowBalance(this.#public, this.#options.network, this.address).then(({ free }) => {
        const needed = this.#collateralNeeded();
        if (free < needed) {
          this.#log.warn(
            { free: formatEther(free), needed: formatEther(needed) },
            `deposit running short: ${formatEther(free)} LP free of the ${formatEther(needed)} LP the open offers may lock; deposit more LP or lower --slots`,
          );
        }
      }),
    );
  }
}
