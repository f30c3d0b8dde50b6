/**
 * What the solver remembers. Every offer, deal and directory upload is written here before it is
 * acted on, so a restarted solver picks up where it stopped. SQLite is the default implementation;
 * any other store must pass the same compliance suite (test/solver/store.test.ts).
 */
import type { Address, Hex } from 'viem';
import type { Deal } from '../protocol/eip712.js';
import type { SignedJobOffer, SignedResourceOffer } from '../protocol/wire.js';

export type JobOfferStatus = 'queued' | 'matched' | 'settled' | 'expired' | 'cancelled';
export type ResourceOfferStatus = 'open' | 'busy' | 'expired' | 'cancelled';
/** The solver's view of a deal: `proposed` before `agree`, then the chain's state. */
export type DealStatus = 'proposed' | 'agreed' | 'running' | 'results-submitted' | 'settled' | 'cancelled';

export type StoredJobOffer = {
  id: Hex;
  signed: SignedJobOffer;
  status: JobOfferStatus;
  dealId: Hex | null;
  /** Why it is still queued, or why it was cancelled. */
  reason: string | null;
  createdAt: number;
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

export interface Store {
  addJobOffer(offer: StoredJobOffer): boolean;
  getJobOffer(id: Hex): StoredJobOffer | undefined;
  updateJobOffer(id: Hex, patch: Partial<Pick<StoredJobOffer, 'status' | 'dealId' | 'reason'>>): void;
  jobOffersWithStatus(status: JobOfferStatus): StoredJobOffer[];

  addResourceOffer(offer: StoredResourceOffer): boolean;
  getResourceOffer(id: Hex): StoredResourceOffer | undefined;
  updateResourceOffer(id: Hex, patch: Partial<Pick<StoredResourceOffer, 'status' | 'dealId'>>): void;
  resourceOffersWithStatus(status: ResourceOfferStatus): StoredResourceOffer[];

  addDeal(deal: StoredDeal): void;
  getDeal(id: Hex): StoredDeal | undefined;
  updateDeal(
    id: Hex,
    patch: Partial<Omit<StoredDeal, 'id' | 'deal' | 'jobOfferId' | 'resourceOfferId' | 'proposedAt'>>,
  ): void;
  /** Deals not yet settled or cancelled that involve `party` (any party when omitted). */
  activeDeals(party?: Address): StoredDeal[];

  recordUpload(upload: { cid: string; dealId: Hex; uploader: Address; bytes: number }): void;

  /** The last chain block whose deal events have been applied. */
  getChainCursor(): bigint | undefined;
  setChainCursor(block: bigint): void;

  /** Runs `work` atomically: all of its writes land, or none. */
  transaction<T>(work: () => T): T;
  close(): void;
}
