/**
 * `lilypad resource-provider`: keeps signed resource offers open at the solver, signs the deals the
 * solver proposes for them (after re-deriving each deal from its own offer), runs the job, publishes
 * the result bundle to the directory, submits the result on-chain and collects payment: on the job
 * creator's `accept`, or with `timeoutJudge` when the job creator stays silent.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Address, Hex, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import { dealStatus, Role, submitResultBatcher, timeoutJudge } from '../chain/deals.js';
import { ensureEscrow } from '../chain/escrow.js';
import { registerService } from '../chain/registry.js';
import { DockerExecutor } from '../executors/docker/docker-executor.js';
import type { Executor } from '../executors/executor.js';
import { attachEvidence } from '../executors/re-execution.js';
import { WasmExecutor } from '../executors/wasm/wasm-executor.js';
import { fileInputNames, materializeFileInputs } from '../modules/file-inputs.js';
import { parseCanonicalInputs, validateInputs } from '../modules/inputs.js';
import { readManifest } from '../modules/manifest.js';
import { fetchModule } from '../modules/module-cache.js';
import { DealState } from '../protocol/deal-states.js';
import { dealDifferences, deriveDeal } from '../protocol/derive-deal.js';
import {
  type Deal,
  dealTypedData,
  type JobOffer,
  jobOfferId,
  type MachineSpec,
  type ResourceOffer,
  resourceOfferId,
  resourceOfferTypedData,
} from '../protocol/eip712.js';
import type { NetworkConfig } from '../protocol/network.js';
import { instructionBudget } from '../protocol/pricing.js';
import { SolverClient } from '../protocol/solver-client.js';
import type { SolverEvent } from '../protocol/wire.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { exportCar } from '../storage/car.js';
import { exportPath, importFolder } from '../storage/unixfs.js';
import { fetchDag } from '../storage/verified-fetch.js';

export type ResourceProviderPricing = {
  fixedPrice: bigint;
  pricePerInstruction: bigint;
  timeoutCollateral: bigint;
  resultsCollateralMultipleBps: number;
};

export type ResourceProviderOptions = {
  network: NetworkConfig;
  privateKey: Hex;
  dataDir: string;
  logger: Logger;
  spec: MachineSpec;
  pricing: ResourceProviderPricing;
  mediators: Address[];
  /** Jobs run at once: one open resource offer each. */
  slots?: number;
  /** Module CIDs this provider will run; empty for any. */
  modules?: string[];
  offerTtlSeconds?: number;
  /** Executors by the manifest's `executor`; any not given is created on its first job. */
  executors?: Partial<Record<Executor['kind'], Executor>>;
};

const EXECUTORS: Record<Executor['kind'], () => Executor> = {
  wasm: () => new WasmExecutor(),
  // Created only when a container job comes: a provider without Docker still runs WASM jobs.
  docker: () => new DockerExecutor(),
};

type DealJob = { deal: Deal; jobOffer: JobOffer };

export { instructionBudget } from '../protocol/pricing.js';

export class ResourceProvider {
  readonly account: LocalAccount;
  readonly #options: ResourceProviderOptions;
  readonly #log: Logger;
  readonly #executors: Partial<Record<Executor['kind'], Executor>>;
  readonly #solver: SolverClient;
  #public!: LilypadPublicClient;
  #wallet!: LilypadWalletClient;
  /** Results finished while one is being submitted go together in one `submitResults`. */
  #results!: ReturnType<typeof submitResultBatcher>;
  #blockstore!: Blockstore;
  #subscription: { close(): void } | undefined;
  readonly #offers = new Map<Hex, ResourceOffer>();
  readonly #proposals = new Map<Hex, DealJob>();
  /** Deals this process has started on, so a replayed event does not run a job twice. */
  readonly #started = new Set<Hex>();
  readonly #judgeTimers = new Map<Hex, NodeJS.Timeout>();
  readonly #work = new Set<Promise<unknown>>();

  constructor(options: ResourceProviderOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.account = privateKeyToAccount(options.privateKey);
    this.#executors = { ...options.executors };
    this.#solver = new SolverClient(options.network.solverUrl, this.account);
  }

  get address(): Address {
    return this.account.address;
  }

  async start(): Promise<void> {
    const { network, dataDir, pricing } = this.#options;
    await mkdir(join(dataDir, 'modules'), { recursive: true });
    await mkdir(join(dataDir, 'results'), { recursive: true });
    this.#blockstore = await openBlockstore(join(dataDir, 'blocks'));
    this.#public = publicClientFor(network.rpcUrl, network.chainId);
    this.#wallet = walletClientFor(network.rpcUrl, network.chainId, this.#options.privateKey);
    this.#results = submitResultBatcher(this.#wallet, network);
    const slots = this.#options.slots ?? 1;
    // The users' registry names this account a resource provider (one transaction, on the first start only).
    await registerService(this.#wallet, network, { roles: Role.resourceProvider });
    // Enough free balance for every slot's timeout collateral and a results collateral of the same size.
    await ensureEscrow(this.#wallet, this.#public, network, BigInt(slots) * pricing.timeoutCollateral * 2n);
    // The first job should not pay for starting a worker thread.
    await this.#executorFor('wasm').warmUp?.();
    this.#subscription = await this.#solver.subscribe((event) => this.#onEvent(event));
    for (let slot = 0; slot < slots; slot++) await this.#postOffer();
    this.#log.info({ address: this.address, slots }, 'resource provider started');
  }

  async stop(): Promise<void> {
    this.#subscription?.close();
    for (const timer of this.#judgeTimers.values()) clearTimeout(timer);
    await Promise.allSettled([...this.#work]);
  }

  async #postOffer(): Promise<Hex> {
    const { network, spec, pricing, mediators } = this.#options;
    const offer: ResourceOffer = {
      resourceProvider: this.address,
      solver: network.solver,
      spec,
      ...pricing,
      mediators,
      modules: this.#options.modules ?? [],
      nonce: BigInt(`0x${randomBytes(8).toString('hex')}`),
      expiry: BigInt(Math.floor(Date.now() / 1000) + (this.#options.offerTtlSeconds ?? 24 * 3600)),
    };
    const signature = await this.account.signTypedData(resourceOfferTypedData(network, offer));
    const { id } = await this.#solver.postResourceOffer({ offer, signature });
    this.#offers.set(id, offer);
    return id;
  }

  #track<T>(work: Promise<T>): void {
    this.#work.add(work);
    work
      .catch((error: unknown) => this.#log.error({ err: error }, 'resource provider task failed'))
      .finally(() => this.#work.delete(work));
  }

  #onEvent(event: SolverEvent): void {
    switch (event.type) {
      case 'deal:proposed':
        if (event.deal.resourceProvider.toLowerCase() === this.address.toLowerCase()) {
          this.#track(this.#signProposal(event));
        }
        return;
      case 'deal:agreed':
      case 'deal:running':
        if (!this.#started.has(event.dealId)) this.#track(this.#runDeal(event.dealId));
        return;
      case 'deal:results-submitted':
        this.#track(this.#armJudgeTimeout(event.dealId));
        return;
      case 'deal:settled':
        clearTimeout(this.#judgeTimers.get(event.dealId));
        this.#judgeTimers.delete(event.dealId);
        this.#proposals.delete(event.dealId);
        this.#log.info({ dealId: event.dealId, state: event.state }, 'deal settled');
        return;
      default:
        return;
    }
  }

  /** Signs a proposed deal only if it is exactly the deal derived from one of this provider's offers. */
  async #signProposal(event: Extract<SolverEvent, { type: 'deal:proposed' }>): Promise<void> {
    const { network } = this.#options;
    const offer = event.resourceOffer.offer;
    const offerId = resourceOfferId(network, offer);
    if (offer.resourceProvider.toLowerCase() !== this.address.toLowerCase()) return;
    const expected = deriveDeal({
      jobOffer: event.jobOffer.offer,
      jobOfferId: jobOfferId(network, event.jobOffer.offer),
      resourceOffer: offer,
      resourceOfferId: offerId,
    });
    const differences = dealDifferences(expected, event.deal);
    if (differences.length > 0) {
      this.#log.warn(
        { dealId: event.dealId, differences },
        'refusing a proposed deal that does not follow from the offers',
      );
      return;
    }
    this.#proposals.set(event.dealId, { deal: event.deal, jobOffer: event.jobOffer.offer });
    const signature = await this.account.signTypedData(dealTypedData(network, event.deal));
    await this.#solver.signDeal(event.dealId, signature);
  }

  async #dealJob(dealId: Hex): Promise<DealJob> {
    const known = this.#proposals.get(dealId);
    if (known) return known;
    // After a restart the proposal is gone from memory: the solver still has the deal and the offer.
    const { deal } = await this.#solver.getDeal(dealId);
    const { offer } = await this.#solver.getJobOffer(deal.jobOffer);
    if (jobOfferId(this.#options.network, offer) !== deal.jobOffer) {
      throw new Error(`the solver returned a job offer that does not match deal ${dealId}`);
    }
    const job = { deal, jobOffer: offer };
    this.#proposals.set(dealId, job);
    return job;
  }

  async #runDeal(dealId: Hex): Promise<void> {
    this.#started.add(dealId);
    const { deal, jobOffer } = await this.#dealJob(dealId);
    const status = await dealStatus(this.#public, this.#options.network, dealId);
    if (status.state !== DealState.Agreed) return;
    this.#solver.markRunning(dealId).catch(() => {}); // progress only; the chain is the record
    const moduleDir = await fetchModule(
      this.#options.network.solverUrl,
      jobOffer.module,
      join(this.#options.dataDir, 'modules'),
    );
    const manifest = await readManifest(moduleDir);
    const validated = validateInputs(manifest, parseCanonicalInputs(jobOffer.inputs));
    const inputsDir = join(this.#options.dataDir, 'inputs', dealId);
    await rm(inputsDir, { recursive: true, force: true });
    const hasFiles = fileInputNames(manifest).length > 0;
    if (hasFiles) await mkdir(inputsDir, { recursive: true });
    // File inputs come from the directory, verified block by block, like the module.
    const inputs = await materializeFileInputs(manifest, validated, inputsDir, async (cid, target) => {
      await fetchDag(this.#options.network.solverUrl, cid, this.#blockstore);
      await exportPath(this.#blockstore, cid, target);
    });
    const bundleDir = join(this.#options.dataDir, 'results', dealId);
    await rm(bundleDir, { recursive: true, force: true });
    const instructions = instructionBudget(deal);
    const result = await this.#executorFor(manifest.executor).run({
      moduleDir,
      manifest,
      inputs,
      ...(hasFiles ? { inputsDir } : {}),
      seed: dealId,
      bundleDir,
      limits: {
        wallTimeMs: manifest.timeoutSeconds * 1000,
        ...(instructions === undefined ? {} : { instructions }),
      },
    });
    const { instructionCount, wallTimeMs, memoryPeakBytes } = result.trace;
    this.#log.info(
      {
        dealId,
        status: result.status,
        exitCode: result.exitCode,
        instructionCount: instructionCount?.toString(),
        wallTimeMs,
        memoryPeakBytes,
      },
      'job ran',
    );
    await attachEvidence(manifest, result);
    const cid = await importFolder(this.#blockstore, bundleDir);
    await this.#solver.uploadCar(dealId, await exportCar(this.#blockstore, cid));
    const { hash } = await this.#results.call({
      deal,
      resultCID: cid.bytes,
      instructionCount: result.instructionCount,
    });
    this.#log.info({ dealId, resultCID: cid.toString(), tx: hash }, 'result submitted');
  }

  #executorFor(kind: Executor['kind']): Executor {
    let executor = this.#executors[kind];
    if (!executor) {
      executor = EXECUTORS[kind]();
      this.#executors[kind] = executor;
    }
    return executor;
  }

  /** Silence is acceptance: once the judging window has passed, the provider settles the deal itself. */
  async #armJudgeTimeout(dealId: Hex): Promise<void> {
    if (this.#judgeTimers.has(dealId)) return;
    const { deal } = await this.#dealJob(dealId);
    if (deal.resourceProvider.toLowerCase() !== this.address.toLowerCase()) return;
    const status = await dealStatus(this.#public, this.#options.network, dealId);
    if (status.state !== DealState.ResultsSubmitted) return;
    const dueMs = (Number(status.resultsAt) + Number(deal.judgeTimeout) + 1) * 1000 - Date.now();
    const timer = setTimeout(
      () => {
        this.#judgeTimers.delete(dealId);
        this.#track(
          (async () => {
            const now = await dealStatus(this.#public, this.#options.network, dealId);
            if (now.state !== DealState.ResultsSubmitted) return;
            await timeoutJudge(this.#wallet, this.#options.network, deal);
            this.#log.info({ dealId }, 'job creator was silent: settled with timeoutJudge');
          })(),
        );
      },
      Math.max(0, dueMs),
    );
    timer.unref();
    this.#judgeTimers.set(dealId, timer);
  }
}
