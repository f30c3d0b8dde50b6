/**
 * What the solver remembers. Every offer, deal, event and directory upload is written here before it
 * is acted on or acknowledged, so a restarted solver picks up where it stopped. SQLite is the default
 * implementation; any other store must pass the same compliance suite (test/solver/store.test.ts).
 */
import type { Address, Hex } from 'viem';
import type { Deal } from '../protocol/eip712.js';
import type { SignedJobOffer, SignedResourceOffer } from '../protocol/wire.js';

export type JobOfferStatus = 'queued' | 'matched' | 'settled' | 'expired' | 'cancelled';
export type ResourceOfferStatus = 'open' | 'busy' | 'expired' | 'cancelled';
/** The solver's view of a deal: `proposed` before `agree`, then the chain's state. */
export type DealStatus = 'proposed' | 'agreed' | 'running' | 'results-submitted' | 'settled' | 'cancelled';

export type DealsInMinute = { minute: number; deals: number; settled: number };

export const finalDealStatuses: readonly DealStatus[] = ['settled', 'cancelled'];

export type StoredJobOffer = {
  id: Hex;
  signed: SignedJobOffer;
  status: JobOfferStatus;
  dealId: Hex | null;
  /** Why it is still queued, or why it was cancelled. */
  reason: string | null;
  createdAt: number;
  /**
   * The job creator asked that its deal's uploads (inputs, result) be served only to the deal's members.
   * Not part of the signed offer (its EIP-712 type is what the contract hashes): the first post decides it.
   */
  private?: boolean;
};

export type StoredResourceOffer = {
  id: Hex;
  signed: SignedResourceOffer;
  status: ResourceOfferStatus;
  dealId: Hex | null;
  createdAt: number;
};

export type StoredDeal = {
  id: Hex;
  deal: Deal;
  jobOfferId: Hex;
  resourceOfferId: Hex;
  status: DealStatus;
  /** On-chain DealState, once the chain has it. */
  chainState: number;
  signatureJC: Hex | null;
  signatureRP: Hex | null;
  agreeTx: Hex | null;
  resultCID: string | null;
  instructionCount: bigint | null;
  cost: bigint | null;
  reason: string | null;
  proposedAt: number;
  updatedAt: number;
};

/** One event as sent to one party: `seq` counts that party's events from 1, with no gaps. */
export type StoredEvent = { address: Address; seq: number; body: string; createdAt: number };

export type Upload = { cid: string; dealId: Hex; uploader: Address; bytes: number };

/**
 * A module published to the directory outside any deal: kept while `publishedAt` or `lastUsedAt` (the
 * last time a deal using it was seen active or finished) is within the module retention.
 */
export type ModulePin = {
  cid: string;
  publisher: Address;
  bytes: number;
  publishedAt: number;
  lastUsedAt: number;
};

export interface Store {
  /** Returns false (and changes nothing) when an offer with this id is already stored. */
  addJobOffer(offer: StoredJobOffer): boolean;
  getJobOffer(id: Hex): StoredJobOffer | undefined;
  updateJobOffer(id: Hex, patch: Partial<Pick<StoredJobOffer, 'status' | 'dealId' | 'reason'>>): void;
  jobOffersWithStatus(status: JobOfferStatus): StoredJobOffer[];

  /** Returns false (and changes nothing) when an offer with this id is already stored. */
  addResourceOffer(offer: StoredResourceOffer): boolean;
  getResourceOffer(id: Hex): StoredResourceOffer | undefined;
  updateResourceOffer(id: Hex, patch: Partial<Pick<StoredResourceOffer, 'status' | 'dealId'>>): void;
  resourceOffersWithStatus(status: ResourceOfferStatus): StoredResourceOffer[];
  /** Offers on the market (open, or busy in a deal) in the order they came, after the offer `after`, at most `limit`. */
  onlineResourceOffers(page: { after?: Hex; limit: number }): StoredResourceOffer[];
  /** How many offers are on the market, and from how many resource providers. */
  onlineResourceOfferCounts(): { offers: number; providers: number };

  /** Adds a deal, or replaces a cancelled one of the same id (the same two offers proposed again). */
  addDeal(deal: StoredDeal): void;
  getDeal(id: Hex): StoredDeal | undefined;
  updateDeal(
    id: Hex,
    patch: Partial<Omit<StoredDeal, 'id' | 'deal' | 'jobOfferId' | 'resourceOfferId' | 'proposedAt'>>,
  ): void;
  /** Deals not yet settled or cancelled that involve `party` (any party when omitted). */
  activeDeals(party?: Address): StoredDeal[];
  /** Settled or cancelled deals whose directory content is still kept, last changed before `before` (ms). */
  finishedDealsToCollect(before: number): StoredDeal[];
  /** Deals whose content the directory must keep: active ones, and finished ones changed at or after `since`. */
  dealsToKeep(since: number): StoredDeal[];
  /** Deals proposed at or after `since` (ms) and not cancelled, per minute (ms at its start), with how many settled. */
  dealsByMinute(since: number): DealsInMinute[];
  /** Records that a finished deal's content was collected: its uploads no longer count. */
  markCollected(dealId: Hex): void;

  appendEvent(event: StoredEvent): void;
  /** `address`'s events with seq > `after`, in order, at most `limit`. */
  eventsAfter(address: Address, after: number, limit: number): StoredEvent[];
  /** The last seq given to each address. */
  lastEventSeqs(): { address: Address; seq: number }[];
  /** Forgets events created before `before` (ms), keeping each address's last seq. */
  pruneEvents(before: number): void;

  /** Returns false when this CID was already recorded for this deal. */
  recordUpload(upload: Upload): boolean;
  uploadsOfDeal(dealId: Hex): Upload[];
  /** The deals `cid` was uploaded for. */
  dealsHolding(cid: string): Hex[];
  /** Bytes `uploader` has in the directory: over deals whose content is not collected, and its module pins. */
  uploadedBytes(uploader: Address): number;

  /** Pins a published module, or renews its pin (`publishedAt`, `bytes`) when this publisher has it already. */
  recordModulePin(pin: Omit<ModulePin, 'lastUsedAt'>): void;
  /** The pin of `cid` by `publisher`, unless it was collected. */
  modulePin(cid: string, publisher: Address): ModulePin | undefined;
  /** Records that a deal used the module `cid` at `usedAt` (ms); a pin's last use only moves forward. */
  touchModulePin(cid: string, usedAt: number): void;
  /** Pins not collected whose publication and last use are both before `before` (ms). */
  modulePinsToCollect(before: number): ModulePin[];
  /** Pins not collected published or used at or after `since` (ms). */
  modulePinsToKeep(since: number): ModulePin[];
  /** Records that a pin was collected: it no longer counts against its publisher's quota. */
  markModulePinCollected(cid: string, publisher: Address): void;

  /** The last chain block whose deal events have been applied. */
  getChainCursor(): bigint | undefined;
  setChainCursor(block: bigint): void;

  /** Runs `work` atomically: all of its writes land, or none. Nested calls join the outer one. */
  transaction<T>(work: () => T): T;
  close(): void;
}
