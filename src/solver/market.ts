/**
 * The market: offers and proposed deals, in the store and in the in-memory OfferBook, kept in step.
 * Every operation is synchronous and meant to run inside one store transaction (the solver groups
 * many into one commit): it decides with the book, writes the store, then updates the book and
 * publishes its events, so a write that throws leaves the book untouched (and a failed commit is
 * followed by `load()`, which rebuilds the book from the store).
 */
import type { Address, Hex } from 'viem';
import { DealState } from '../protocol/deal-states.js';
import { deriveDeal } from '../protocol/derive-deal.js';
import { LilypadError } from '../protocol/errors.js';
import type { SignedResourceOffer, SolverEvent } from '../protocol/wire.js';
import { OfferBook } from './offer-book.js';
import type { OfferHashes } from './offer-hashes.js';
import {
  finalDealStatuses,
  type JobOfferStatus,
  type ResourceOfferStatus,
  type Store,
  type StoredDeal,
  type StoredJobOffer,
  type StoredResourceOffer,
} from './store.js';

export type MarketOptions = {
  store: Store;
  solver: Address;
  hashes: OfferHashes;
  /** Records an event for the parties; called inside the operation's transaction. */
  publish(to: Address[], event: SolverEvent): void;
  /** Told of each deal proposed, after its writes (the solver starts its signature deadline). */
  onProposed?(deal: StoredDeal): void;
  nowMs?: () => number;
};

/** The request conflicts with the offer's or deal's current state (HTTP 409). */
export class MarketConflictError extends LilypadError {
  override name = 'MarketConflictError';
}

/** The sender may not do this to that offer (HTTP 403). */
export class NotYourOfferError extends LilypadError {
  override name = 'NotYourOfferError';
}

export class OfferNotFoundError extends LilypadError {
  override name = 'OfferNotFoundError';
}

export type JobOfferOutcome = { id: Hex; created: boolean; status: JobOfferStatus; dealId: Hex | null };
export type ResourceOfferOutcome = {
  id: Hex;
  created: boolean;
  status: ResourceOfferStatus;
  dealId: Hex | null;
};

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class Market {
  readonly #options: MarketOptions;
  readonly #store: Store;
  #book: OfferBook;
  /** Active deals of each party, for what a (re)connecting party must be told. */
  readonly #activeByParty = new Map<string, Set<Hex>>();

  constructor(options: MarketOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#book = new OfferBook(options.solver);
  }

  get book(): OfferBook {
    return this.#book;
  }

  #nowSeconds(): bigint {
    return BigInt(Math.floor((this.#options.nowMs?.() ?? Date.now()) / 1000));
  }

  /** Rebuilds the book from the store (at start, or after a failed commit), then matches what it can. */
  load(): void {
    this.#book = new OfferBook(this.#options.solver);
    this.#activeByParty.clear();
    for (const offer of this.#store.resourceOffersWithStatus('open')) this.#book.addResource(offer);
    for (const job of this.#store.jobOffersWithStatus('queued')) this.#book.addJob(job);
    for (const deal of this.#store.activeDeals()) this.#indexDeal(deal);
    this.expire();
    // Nothing should match here (every change was matched when it committed), unless offers were
    // added to the store by something else than this market.
    const now = this.#nowSeconds();
    for (const job of this.#store.jobOffersWithStatus('queued')) {
      const resource = this.#book.bestResourceFor(job.signed.offer, now);
      if (resource) this.#propose(job, resource);
    }
  }

  // ---- offers arriving ----------------------------------------------------------------------------

  addJobOffer(input: Pick<StoredJobOffer, 'id' | 'signed' | 'createdAt' | 'private'>): JobOfferOutcome {
    if (this.#book.getJob(input.id)) return { id: input.id, created: false, status: 'queued', dealId: null };
    const job: StoredJobOffer = { ...input, status: 'queued', dealId: null, reason: null };
    const now = this.#nowSeconds();
    const resource = this.#book.bestResourceFor(job.signed.offer, now);
    // The insert comes first: when it is ignored (an offer seen before), nothing else is written.
    const done = resource
      ? this.#propose(job, resource, { newJob: true })
      : this.#queue(job, { newJob: true });
    if (done === undefined) {
      const existing = this.#store.getJobOffer(input.id) as StoredJobOffer;
      return { id: input.id, created: false, status: existing.status, dealId: existing.dealId };
    }
    return resource
      ? { id: job.id, created: true, status: 'matched', dealId: (done as StoredDeal).id }
      : { id: job.id, created: true, status: 'queued', dealId: null };
  }

  addResourceOffer(input: { id: Hex; signed: SignedResourceOffer; createdAt: number }): ResourceOfferOutcome {
    if (this.#book.hasResource(input.id))
      return { id: input.id, created: false, status: 'open', dealId: null };
    const resource: StoredResourceOffer = { ...input, status: 'open', dealId: null };
    const done = this.#open(resource, { newResource: true });
    if (done === undefined) {
      const existing = this.#store.getResourceOffer(input.id) as StoredResourceOffer;
      return { id: input.id, created: false, status: existing.status, dealId: existing.dealId };
    }
    return done === 'open'
      ? { id: resource.id, created: true, status: 'open', dealId: null }
      : { id: resource.id, created: true, status: 'busy', dealId: done.id };
  }

  // ---- offers coming back -------------------------------------------------------------------------

  /** A resource offer whose deal no longer needs it goes back on the market (unless withdrawn). */
  releaseResourceOffer(deal: StoredDeal): void {
    const resource = this.#store.getResourceOffer(deal.resourceOfferId);
    if (resource?.status !== 'busy' || resource.dealId !== deal.id) return;
    if (resource.signed.offer.expiry <= this.#nowSeconds()) {
      this.#store.updateResourceOffer(resource.id, { status: 'expired', dealId: null });
      return;
    }
    this.#open({ ...resource, status: 'open', dealId: null });
  }

  /** A job whose proposal failed through no fault of its creator waits again. */
  #requeueJobOffer(id: Hex): void {
    const job = this.#store.getJobOffer(id);
    if (!job) return;
    const requeued: StoredJobOffer = { ...job, status: 'queued', dealId: null, reason: null };
    const now = this.#nowSeconds();
    if (job.signed.offer.expiry <= now) {
      this.#store.updateJobOffer(id, {
        status: 'expired',
        dealId: null,
        reason: 'expired before a match was found',
      });
      return;
    }
    const resource = this.#book.bestResourceFor(job.signed.offer, now);
    if (resource) this.#propose(requeued, resource);
    else this.#queue(requeued);
  }

  /**
   * Cancels a proposed deal. Its job waits again unless its creator is at fault (then it is cancelled);
   * its resource offer goes back on the market unless its provider is at fault (then it is cancelled:
   * a provider that did not sign is probably gone, until it posts again).
   */
  cancelProposal(
    dealId: Hex,
    reason: string,
    fault: { jobCreator: boolean; resourceProvider: boolean },
  ): void {
    const deal = this.#store.getDeal(dealId);
    if (deal?.status !== 'proposed') return;
    this.#store.updateDeal(dealId, { status: 'cancelled', reason, updatedAt: Date.now() });
    this.#unindexDeal(deal);
    this.#options.publish([deal.deal.jobCreator, deal.deal.resourceProvider], {
      type: 'deal:cancelled',
      dealId,
      reason,
    });
    if (fault.resourceProvider) {
      this.#store.updateResourceOffer(deal.resourceOfferId, { status: 'cancelled', dealId: null });
    }
    if (fault.jobCreator) this.#store.updateJobOffer(deal.jobOfferId, { status: 'cancelled', reason });
    else this.#requeueJobOffer(deal.jobOfferId);
    if (!fault.resourceProvider) this.releaseResourceOffer(deal);
  }

  /** A deal that reached a final state on-chain: its job is settled, its resource offer free again. */
  dealSettled(deal: StoredDeal, chainState: number): void {
    this.#store.updateDeal(deal.id, { status: 'settled', chainState, updatedAt: Date.now() });
    this.#store.updateJobOffer(deal.jobOfferId, { status: 'settled' });
    this.#unindexDeal(deal);
    this.releaseResourceOffer(deal);
  }

  // ---- cancellation by the signer -----------------------------------------------------------------

  cancelJobOffer(id: Hex, sender: Address): JobOfferStatus {
    const job = this.#store.getJobOffer(id);
    if (!job) throw new OfferNotFoundError(`no job offer ${id}`);
    if (!same(sender, job.signed.offer.jobCreator)) {
      throw new NotYourOfferError(
        `${sender} did not sign job offer ${id}; only its job creator can cancel it`,
      );
    }
    const reason = 'cancelled by its job creator';
    if (job.status === 'queued') {
      this.#store.updateJobOffer(id, { status: 'cancelled', reason });
      this.#book.removeJob(id);
      return 'cancelled';
    }
    if (job.status === 'matched' && job.dealId) {
      const deal = this.#store.getDeal(job.dealId);
      if (deal?.status !== 'proposed') {
        throw new MarketConflictError(`job offer ${id} is in deal ${job.dealId}, already agreed on-chain`, {
          hint: 'an agreed deal cannot be cancelled; it settles on-chain (accept, or its timeouts)',
        });
      }
      this.cancelProposal(deal.id, 'the job offer was cancelled by its job creator', {
        jobCreator: true,
        resourceProvider: false,
      });
      return 'cancelled';
    }
    return job.status;
  }

  cancelResourceOffer(id: Hex, sender: Address): ResourceOfferStatus {
    const resource = this.#store.getResourceOffer(id);
    if (!resource) throw new OfferNotFoundError(`no resource offer ${id}`);
    if (!same(sender, resource.signed.offer.resourceProvider)) {
      throw new NotYourOfferError(
        `${sender} did not sign resource offer ${id}; only its resource provider can cancel it`,
      );
    }
    if (resource.status === 'open') {
      this.#store.updateResourceOffer(id, { status: 'cancelled' });
      this.#book.removeResource(id);
      return 'cancelled';
    }
    if (resource.status === 'busy' && resource.dealId) {
      const deal = this.#store.getDeal(resource.dealId);
      if (deal?.status === 'proposed') {
        this.cancelProposal(deal.id, 'the resource offer was cancelled by its provider', {
          jobCreator: false,
          resourceProvider: true,
        });
      } else {
        // The agreed deal goes on; the offer just does not come back to the market after it.
        this.#store.updateResourceOffer(id, { status: 'cancelled' });
      }
      return 'cancelled';
    }
    return resource.status;
  }

  // ---- expiry, questions --------------------------------------------------------------------------

  /** Takes expired offers off the market. */
  expire(): void {
    const { resources, jobs } = this.#book.takeExpired(this.#nowSeconds());
    for (const resource of resources) this.#store.updateResourceOffer(resource.id, { status: 'expired' });
    for (const job of jobs) {
      this.#store.updateJobOffer(job.id, { status: 'expired', reason: 'expired before a match was found' });
    }
  }

  /** Why a waiting job has no match, now; undefined when it is not waiting. */
  whyWaiting(id: Hex): string | undefined {
    const job = this.#book.getJob(id);
    return job && this.#book.explain(job.signed.offer, this.#nowSeconds());
  }

  /** Ids of the active deals `party` is in. */
  activeDealIds(party: Address): Hex[] {
    return [...(this.#activeByParty.get(party.toLowerCase()) ?? [])];
  }

  /** Job offers of `jobCreator` that wait, with why: what a (re)connecting job creator is told. */
  waitingJobs(jobCreator: Address): StoredJobOffer[] {
    return this.#book.jobsOf(jobCreator);
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** Queues a job; with `newJob`, returns undefined when the store already had it (nothing done). */
  #queue(job: StoredJobOffer, created: { newJob?: boolean } = {}): true | undefined {
    const reason = this.#book.explain(job.signed.offer, this.#nowSeconds());
    const queued: StoredJobOffer = { ...job, status: 'queued', dealId: null, reason };
    if (created.newJob) {
      if (!this.#store.addJobOffer(queued)) return undefined;
    } else this.#store.updateJobOffer(job.id, { status: 'queued', dealId: null, reason });
    this.#book.addJob(queued);
    this.#options.publish([job.signed.offer.jobCreator], { type: 'job:queued', jobOfferId: job.id, reason });
    return true;
  }

  /**
   * An offer that opens serves the oldest waiting job it fits, or joins the book. With `newResource`,
   * returns undefined when the store already had it (nothing done).
   */
  #open(
    resource: StoredResourceOffer,
    created: { newResource?: boolean } = {},
  ): StoredDeal | 'open' | undefined {
    const job = this.#book.bestJobFor(resource.signed.offer, this.#nowSeconds());
    if (job) return this.#propose(job, resource, created);
    if (created.newResource) {
      if (!this.#store.addResourceOffer(resource)) return undefined;
    } else this.#store.updateResourceOffer(resource.id, { status: 'open', dealId: null });
    this.#book.addResource(resource);
    return 'open';
  }

  /** Proposes the deal of two offers; undefined when a new offer turns out to be in the store already. */
  #propose(
    job: StoredJobOffer,
    resource: StoredResourceOffer,
    created: { newJob?: boolean; newResource?: boolean } = {},
  ): StoredDeal | undefined {
    const deal = deriveDeal({
      jobOffer: job.signed.offer,
      jobOfferId: job.id,
      resourceOffer: resource.signed.offer,
      resourceOfferId: resource.id,
    });
    const id = this.#options.hashes.dealId(deal);
    // A new offer is inserted first, so that a duplicate stops everything before anything is written.
    if (created.newJob) {
      if (!this.#store.addJobOffer({ ...job, status: 'matched', dealId: id, reason: null })) return undefined;
    } else if (created.newResource) {
      if (!this.#store.addResourceOffer({ ...resource, status: 'busy', dealId: id })) return undefined;
    }
    if (!created.newJob) this.#store.updateJobOffer(job.id, { status: 'matched', dealId: id, reason: null });
    if (!created.newResource) this.#store.updateResourceOffer(resource.id, { status: 'busy', dealId: id });
    const now = Date.now();
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
      proposedAt: now,
      updatedAt: now,
    };
    this.#store.addDeal(stored);
    this.#book.removeJob(job.id);
    this.#book.removeResource(resource.id);
    this.#indexDeal(stored);
    this.#options.publish([deal.jobCreator, deal.resourceProvider], {
      type: 'deal:proposed',
      dealId: id,
      deal,
      jobOffer: job.signed,
      resourceOffer: resource.signed,
    });
    this.#options.onProposed?.(stored);
    return stored;
  }

  #indexDeal(deal: StoredDeal): void {
    if (finalDealStatuses.includes(deal.status)) return;
    for (const party of [deal.deal.jobCreator, deal.deal.resourceProvider]) {
      const key = party.toLowerCase();
      const set = this.#activeByParty.get(key) ?? new Set<Hex>();
      set.add(deal.id);
      this.#activeByParty.set(key, set);
    }
  }

  #unindexDeal(deal: StoredDeal): void {
    for (const party of [deal.deal.jobCreator, deal.deal.resourceProvider]) {
      const key = party.toLowerCase();
      const set = this.#activeByParty.get(key);
      set?.delete(deal.id);
      if (set?.size === 0) this.#activeByParty.delete(key);
    }
  }
}
