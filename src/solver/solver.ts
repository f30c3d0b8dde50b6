/**
 * `lilypad solver`: takes signed offers, matches them, proposes deals, collects both signatures and
 * submits `agree`, follows the chain, pushes events to the parties and hosts the directory.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import {
  type Address,
  type Hex,
  hexToBytes,
  type RecoverTypedDataAddressParameters,
  recoverTypedDataAddress,
} from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import {
  type LilypadPublicClient,
  type LilypadWalletClient,
  publicClientFor,
  walletClientFor,
} from '../chain/clients.js';
import { agree } from '../chain/deals.js';
import { DealState, isFinal } from '../protocol/deal-states.js';
import { deriveDeal } from '../protocol/derive-deal.js';
import {
  dealId as computeDealId,
  dealTypedData,
  jobOfferId,
  jobOfferTypedData,
  resourceOfferId,
  resourceOfferTypedData,
} from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import type { SignedJobOffer, SignedResourceOffer, SolverEvent } from '../protocol/wire.js';
import { type Blockstore, openBlockstore } from '../storage/blockstore.js';
import { buildSolverApi } from './api.js';
import { ChainFollower, type DealLog } from './chain-follower.js';
import { EventHub } from './event-hub.js';
import { matchJob } from './matcher.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store, StoredDeal } from './store.js';

export type SolverOptions = {
  network: Pick<NetworkConfig, 'chainId' | 'rpcUrl' | 'deals' | 'token'>;
  privateKey: Hex;
  dataDir: string;
  host?: string;
  port?: number;
  logger: Logger;
  /** How often to read new chain events; small on a local chain. */
  pollIntervalMs?: number;
  /** How long a proposed deal waits for both signatures before its offers go back to the market. */
  proposalTimeoutMs?: number;
  maxUploadBytes?: number;
  /** Mediators this solver suggests to its clients (announced by /api/v1/health). */
  mediators?: Address[];
};

export class OfferRejectedError extends LilypadError {
  override name = 'OfferRejectedError';
}

const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

export class Solver {
  readonly address: Address;
  readonly #options: SolverOptions;
  readonly #log: Logger;
  readonly hub = new EventHub();
  #store!: Store;
  #blockstore!: Blockstore;
  #public!: LilypadPublicClient;
  #wallet!: LilypadWalletClient;
  #follower!: ChainFollower;
  #app!: FastifyInstance;
  #url = '';
  #matching: Promise<void> | undefined;
  #matchAgain = false;
  readonly #proposalTimers = new Map<Hex, NodeJS.Timeout>();

  constructor(options: SolverOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.address = privateKeyToAddress(options.privateKey);
  }

  get url(): string {
    return this.#url;
  }

  get store(): Store {
    return this.#store;
  }

  get blockstore(): Blockstore {
    return this.#blockstore;
  }

  get network() {
    return this.#options.network;
  }

  get mediators(): Address[] {
    return this.#options.mediators ?? [];
  }

  async start(): Promise<string> {
    const { network, dataDir } = this.#options;
    await mkdir(dataDir, { recursive: true });
    this.#store = new SqliteStore(join(dataDir, 'solver.sqlite'));
    this.#blockstore = await openBlockstore(join(dataDir, 'blocks'));
    this.#public = publicClientFor(network.rpcUrl, network.chainId);
    this.#wallet = walletClientFor(network.rpcUrl, network.chainId, this.#options.privateKey);
    this.#follower = new ChainFollower({
      client: this.#public,
      address: network.deals,
      intervalMs: this.#options.pollIntervalMs ?? 1000,
      cursor: { get: () => this.#store.getChainCursor(), set: (block) => this.#store.setChainCursor(block) },
      apply: (logs) => this.#applyChainLogs(logs),
    });
    await this.#follower.poll();
    this.#follower.start();
    this.#app = await buildSolverApi(this, {
      maxUploadBytes: this.#options.maxUploadBytes ?? 256 * 1024 * 1024,
    });
    this.#url = await this.#app.listen({
      host: this.#options.host ?? '127.0.0.1',
      port: this.#options.port ?? 0,
    });
    // Deals proposed before a restart get a fresh chance to collect their signatures.
    for (const deal of this.#store.activeDeals()) {
      if (deal.status === 'proposed') this.#armProposalTimer(deal.id);
    }
    this.scheduleMatching();
    this.#log.info({ url: this.#url, address: this.address }, 'solver started');
    return this.#url;
  }

  async stop(): Promise<void> {
    for (const timer of this.#proposalTimers.values()) clearTimeout(timer);
    this.#proposalTimers.clear();
    await this.#follower?.stop();
    this.hub.closeAll();
    await this.#app?.close();
    await this.#matching;
    this.#store?.close();
  }

  logError(error: unknown): void {
    this.#log.error({ err: error }, 'request failed');
  }

  // ---- offers -------------------------------------------------------------------------------------

  async addJobOffer(signed: SignedJobOffer): Promise<{ id: Hex; created: boolean }> {
    const { offer, signature } = signed;
    await this.#checkOffer(
      offer,
      jobOfferTypedData(this.network, offer),
      signature,
      offer.jobCreator,
      'job creator',
    );
    const id = jobOfferId(this.network, offer);
    const created = this.#store.addJobOffer({
      id,
      signed,
      status: 'queued',
      dealId: null,
      reason: null,
      createdAt: Date.now(),
    });
    if (created) this.scheduleMatching();
    return { id, created };
  }

  async addResourceOffer(signed: SignedResourceOffer): Promise<{ id: Hex; created: boolean }> {
    const { offer, signature } = signed;
    const typedData = resourceOfferTypedData(this.network, offer);
    await this.#checkOffer(offer, typedData, signature, offer.resourceProvider, 'resource provider');
    const id = resourceOfferId(this.network, offer);
    const created = this.#store.addResourceOffer({
      id,
      signed,
      status: 'open',
      dealId: null,
      createdAt: Date.now(),
    });
    if (created) this.scheduleMatching();
    return { id, created };
  }

  /** An offer must name this solver, be unexpired, and be signed by the party it speaks for. */
  async #checkOffer(
    offer: { solver: Address; expiry: bigint },
    typedData: Omit<RecoverTypedDataAddressParameters, 'signature'>,
    signature: Hex,
    party: Address,
    role: string,
  ): Promise<void> {
    if (offer.solver.toLowerCase() !== this.address.toLowerCase()) {
      throw new OfferRejectedError(`the offer names solver ${offer.solver}; this solver is ${this.address}`);
    }
    if (offer.expiry <= nowSeconds()) {
      throw new OfferRejectedError('the offer has expired', { hint: 'sign it with a later expiry' });
    }
    const signer = await recoverTypedDataAddress({
      ...typedData,
      signature,
    } as RecoverTypedDataAddressParameters);
    if (signer.toLowerCase() !== party.toLowerCase()) {
      throw new OfferRejectedError(`the offer is signed by ${signer}, not by its ${role} ${party}`);
    }
  }

  // ---- matching -----------------------------------------------------------------------------------

  /** Runs one matching pass soon; passes never overlap, so a resource offer cannot be booked twice. */
  scheduleMatching(): void {
    if (this.#matching) {
      this.#matchAgain = true;
      return;
    }
    this.#matching = Promise.resolve()
      .then(() => this.#matchPass())
      .catch((error) => this.#log.error({ err: error }, 'matching failed'))
      .finally(() => {
        this.#matching = undefined;
        if (this.#matchAgain) {
          this.#matchAgain = false;
          this.scheduleMatching();
        }
      });
  }

  #matchPass(): void {
    const now = nowSeconds();
    let open = this.#store.resourceOffersWithStatus('open');
    for (const job of this.#store.jobOffersWithStatus('queued')) {
      const offer = job.signed.offer;
      if (offer.expiry <= now) {
        this.#store.updateJobOffer(job.id, { status: 'expired', reason: 'expired before a match was found' });
        continue;
      }
      const result = matchJob(offer, open, now);
      if (!result.match) {
        if (result.reason !== job.reason) {
          this.#store.updateJobOffer(job.id, { reason: result.reason });
          this.hub.publish([offer.jobCreator], {
            type: 'job:queued',
            jobOfferId: job.id,
            reason: result.reason,
          });
        }
        continue;
      }
      const resource = result.match;
      const deal = deriveDeal({
        jobOffer: offer,
        jobOfferId: job.id,
        resourceOffer: resource.signed.offer,
        resourceOfferId: resource.id,
      });
      const id = computeDealId(this.network, deal);
      const stored: StoredDeal = {
        id,
        deal,
        jobOfferId: job.id,
        resourceOfferId: resource.id,
        status: 'proposed',
        chainState: DealState.None,
        signatureJC: null,
        signatureRP: null,
        agreeTx: null,
        resultCID: null,
        instructionCount: null,
        cost: null,
        reason: null,
        proposedAt: Date.now(),
        updatedAt: Date.now(),
      };
      this.#store.transaction(() => {
        this.#store.addDeal(stored);
        this.#store.updateJobOffer(job.id, { status: 'matched', dealId: id, reason: null });
        this.#store.updateResourceOffer(resource.id, { status: 'busy', dealId: id });
      });
      open = open.filter((candidate) => candidate.id !== resource.id);
      this.#log.info({ dealId: id, jobOffer: job.id, resourceOffer: resource.id }, 'matched');
      this.#armProposalTimer(id);
      this.#publishDeal(stored, this.#eventFor(stored));
    }
  }

  #armProposalTimer(id: Hex): void {
    const timer = setTimeout(() => {
      this.#proposalTimers.delete(id);
      const deal = this.#store.getDeal(id);
      if (deal?.status === 'proposed') this.#cancelProposal(deal, 'not signed by both parties in time');
    }, this.#options.proposalTimeoutMs ?? 30_000);
    timer.unref();
    this.#proposalTimers.set(id, timer);
  }

  /** A proposal that fails goes away; the job goes back to the queue unless its creator is at fault. */
  #cancelProposal(deal: StoredDeal, reason: string, jobCreatorAtFault = !deal.signatureJC): void {
    clearTimeout(this.#proposalTimers.get(deal.id));
    this.#proposalTimers.delete(deal.id);
    const rpAtFault = !deal.signatureRP;
    this.#store.transaction(() => {
      this.#store.updateDeal(deal.id, { status: 'cancelled', reason, updatedAt: Date.now() });
      this.#store.updateJobOffer(
        deal.jobOfferId,
        jobCreatorAtFault
          ? { status: 'cancelled', reason }
          : { status: 'queued', dealId: null, reason: null },
      );
      // A provider that did not sign is probably gone: its offer leaves the market until it posts again.
      this.#store.updateResourceOffer(deal.resourceOfferId, {
        status: rpAtFault ? 'cancelled' : 'open',
        dealId: null,
      });
    });
    this.#log.warn({ dealId: deal.id, reason }, 'proposal cancelled');
    this.#publishDeal(deal, { type: 'deal:cancelled', dealId: deal.id, reason });
    this.scheduleMatching();
  }

  // ---- agreement ----------------------------------------------------------------------------------

  async addDealSignature(id: Hex, signature: Hex): Promise<StoredDeal> {
    const deal = this.#store.getDeal(id);
    if (!deal) throw new LilypadError(`no deal ${id}`);
    const signer = await recoverTypedDataAddress({ ...dealTypedData(this.network, deal.deal), signature });
    const isJC = signer.toLowerCase() === deal.deal.jobCreator.toLowerCase();
    const isRP = signer.toLowerCase() === deal.deal.resourceProvider.toLowerCase();
    if (!isJC && !isRP) throw new OfferRejectedError(`${signer} is not a party to deal ${id}`);
    if (deal.status !== 'proposed') return deal;
    const patch = isJC ? { signatureJC: signature } : { signatureRP: signature };
    this.#store.updateDeal(id, { ...patch, updatedAt: Date.now() });
    const updated = { ...deal, ...patch };
    if (updated.signatureJC && updated.signatureRP) void this.#submitAgree(updated);
    return updated;
  }

  async #submitAgree(deal: StoredDeal): Promise<void> {
    clearTimeout(this.#proposalTimers.get(deal.id));
    this.#proposalTimers.delete(deal.id);
    try {
      const { hash } = await agree(
        this.#wallet,
        this.network,
        deal.deal,
        deal.signatureJC as Hex,
        deal.signatureRP as Hex,
      );
      this.#store.updateDeal(deal.id, { agreeTx: hash, updatedAt: Date.now() });
      await this.#follower.poll();
    } catch (error) {
      const reason = error instanceof LilypadError ? error.message : String(error);
      this.#log.warn({ dealId: deal.id, err: error }, 'agree failed');
      const current = this.#store.getDeal(deal.id);
      if (current?.status === 'proposed') this.#cancelProposal(current, `agree failed: ${reason}`, true);
    }
  }

  markRunning(id: Hex, sender: Address): StoredDeal {
    const deal = this.#store.getDeal(id);
    if (!deal) throw new LilypadError(`no deal ${id}`);
    if (sender.toLowerCase() !== deal.deal.resourceProvider.toLowerCase()) {
      throw new OfferRejectedError(`${sender} is not the resource provider of deal ${id}`);
    }
    if (deal.status === 'agreed') {
      this.#store.updateDeal(id, { status: 'running', updatedAt: Date.now() });
      this.#publishDeal(deal, { type: 'deal:running', dealId: id });
    }
    return deal;
  }

  // ---- chain events -------------------------------------------------------------------------------

  /** Data events first, then state changes, so a state's event carries the data that came with it. */
  #applyChainLogs(logs: DealLog[]): void {
    for (const log of logs) {
      if (log.eventName === 'ResultsSubmitted') {
        const deal = this.#store.getDeal(log.args.dealId);
        if (!deal || deal.resultCID) continue;
        this.#store.updateDeal(deal.id, {
          resultCID: CID.decode(hexToBytes(log.args.resultCID)).toString(),
          instructionCount: log.args.instructionCount,
          cost: log.args.cost,
        });
      }
    }
    for (const log of logs) {
      if (log.eventName === 'DealStateChanged') {
        this.#applyState(log.args.dealId, Number(log.args.state), log.transactionHash);
      } else if (log.eventName === 'ResultsSubmitted') {
        // The contract's one event for this transition.
        this.#applyState(log.args.dealId, DealState.ResultsSubmitted, log.transactionHash);
      }
    }
  }

  /** Idempotent: a state the store already has is skipped, so re-read logs do nothing. */
  #applyState(id: Hex, state: number, txHash: Hex): void {
    const deal = this.#store.getDeal(id);
    if (!deal || deal.chainState >= state) return;
    const now = Date.now();
    if (state === DealState.Agreed) {
      this.#store.updateDeal(id, { status: 'agreed', chainState: state, agreeTx: txHash, updatedAt: now });
    } else if (state === DealState.ResultsSubmitted) {
      this.#store.transaction(() => {
        this.#store.updateDeal(id, { status: 'results-submitted', chainState: state, updatedAt: now });
        // The provider's work is done: its capacity goes back on the market.
        this.#releaseResourceOffer(deal);
      });
    } else if (isFinal(state)) {
      this.#store.transaction(() => {
        this.#store.updateDeal(id, { status: 'settled', chainState: state, updatedAt: now });
        this.#store.updateJobOffer(deal.jobOfferId, { status: 'settled' });
        this.#releaseResourceOffer(deal);
      });
    } else {
      this.#store.updateDeal(id, { chainState: state, updatedAt: now });
    }
    const updated = this.#store.getDeal(id) as StoredDeal;
    this.#log.info({ dealId: id, state }, 'deal state');
    this.#publishDeal(updated, this.#eventFor(updated));
    if (state !== DealState.Agreed) this.scheduleMatching();
  }

  #releaseResourceOffer(deal: StoredDeal): void {
    const offer = this.#store.getResourceOffer(deal.resourceOfferId);
    if (offer?.status === 'busy' && offer.dealId === deal.id) {
      this.#store.updateResourceOffer(offer.id, { status: 'open', dealId: null });
    }
  }

  // ---- events -------------------------------------------------------------------------------------

  /** The event that describes a deal's current state: what a party that (re)connects needs to act. */
  #eventFor(deal: StoredDeal): SolverEvent {
    switch (deal.status) {
      case 'proposed': {
        const jobOffer = this.#store.getJobOffer(deal.jobOfferId);
        const resourceOffer = this.#store.getResourceOffer(deal.resourceOfferId);
        if (!jobOffer || !resourceOffer) throw new Error(`deal ${deal.id} lost its offers`);
        return {
          type: 'deal:proposed',
          dealId: deal.id,
          deal: deal.deal,
          jobOffer: jobOffer.signed,
          resourceOffer: resourceOffer.signed,
        };
      }
      case 'agreed':
        return { type: 'deal:agreed', dealId: deal.id, txHash: deal.agreeTx as Hex };
      case 'running':
        return { type: 'deal:running', dealId: deal.id };
      case 'results-submitted':
        return {
          type: 'deal:results-submitted',
          dealId: deal.id,
          resultCID: deal.resultCID as string,
          instructionCount: deal.instructionCount ?? 0n,
          cost: deal.cost ?? 0n,
        };
      case 'settled':
        return { type: 'deal:settled', dealId: deal.id, state: deal.chainState };
      case 'cancelled':
        return { type: 'deal:cancelled', dealId: deal.id, reason: deal.reason ?? 'cancelled' };
    }
  }

  #publishDeal(deal: StoredDeal, event: SolverEvent): void {
    this.hub.publish([deal.deal.jobCreator, deal.deal.resourceProvider], event);
  }

  /** What a party that just connected must know: its active deals and its queued jobs. */
  currentEvents(address: Address): SolverEvent[] {
    const events: SolverEvent[] = this.#store.activeDeals(address).map((deal) => this.#eventFor(deal));
    for (const job of this.#store.jobOffersWithStatus('queued')) {
      if (job.signed.offer.jobCreator.toLowerCase() === address.toLowerCase() && job.reason) {
        events.push({ type: 'job:queued', jobOfferId: job.id, reason: job.reason });
      }
    }
    return events;
  }
}
