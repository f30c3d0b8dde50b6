/**
 * The directory's housekeeping: uploads count against their uploader's quota, and the content of
 * finished deals (settled or cancelled) is kept for a retention period, then collected. Collection is
 * mark and sweep over the blocks the store knows about: everything reachable from a deal still kept
 * (active, or finished within the retention) is marked; what is reachable only from deals past their
 * retention is deleted. A deal's content is its module, the result and every upload made for it.
 * Uploads and collection exclude each other, so a block being uploaded is never swept.
 */

import { CID } from 'multiformats/cid';
import type { Address, Hex } from 'viem';
import { LilypadError } from '../protocol/errors.js';
import { type Blockstore, getBlock } from '../storage/blockstore.js';
import { importCar } from '../storage/car.js';
import { blockLinks, inlineBlock } from '../storage/dag.js';
import type { Store, StoredDeal } from './store.js';

export type DirectoryLimits = {
  /** Largest CAR one request may upload. */
  maxUploadBytes: number;
  /** Most bytes one address may keep in the directory, over deals whose content is not collected. */
  uploadQuotaBytes: number;
  /** How long the content of a settled or cancelled deal is kept. */
  retentionMs: number;
};

export class QuotaExceededError extends LilypadError {
  override name = 'QuotaExceededError';
}

/** A readers-writer lock in miniature: many uploads at once, or one collection. */
class UploadsOrCollection {
  #uploads = 0;
  #collecting: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  async upload<T>(work: () => Promise<T>): Promise<T> {
    while (this.#collecting) await this.#collecting;
    this.#uploads++;
    try {
      return await work();
    } finally {
      this.#uploads--;
      if (this.#uploads === 0) this.#idle?.();
    }
  }

  async collect<T>(work: () => Promise<T>): Promise<T> {
    while (this.#collecting) await this.#collecting;
    let done: () => void = () => {};
    this.#collecting = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      if (this.#uploads > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      this.#idle = undefined;
      return await work();
    } finally {
      this.#collecting = undefined;
      done();
    }
  }
}

export class Directory {
  readonly #store: Store;
  readonly #blockstore: Blockstore;
  readonly #limits: DirectoryLimits;
  /** Module CID of a deal, from its job offer. */
  readonly #moduleOf: (deal: StoredDeal) => string | undefined;
  readonly #lock = new UploadsOrCollection();

  constructor(options: {
    store: Store;
    blockstore: Blockstore;
    limits: DirectoryLimits;
    moduleOf: (deal: StoredDeal) => string | undefined;
  }) {
    this.#store = options.store;
    this.#blockstore = options.blockstore;
    this.#limits = options.limits;
    this.#moduleOf = options.moduleOf;
  }

  get limits(): DirectoryLimits {
    return this.#limits;
  }

  /** Stores a verified CAR for `dealId` and records it; refuses it when it would exceed the quota. */
  upload(dealId: Hex, uploader: Address, car: Uint8Array): Promise<CID[]> {
    return this.#lock.upload(async () => {
      const used = this.#store.uploadedBytes(uploader);
      if (used + car.byteLength > this.#limits.uploadQuotaBytes) {
        throw new QuotaExceededError(
          `${uploader} keeps ${used} bytes in the directory; ${car.byteLength} more would pass its quota of ${this.#limits.uploadQuotaBytes}`,
          { hint: 'content of settled deals is collected after the retention period; retry later' },
        );
      }
      const roots = await importCar(this.#blockstore, car, { maxBytes: this.#limits.maxUploadBytes });
      this.#store.transaction(() => {
        for (const root of roots) {
          this.#store.recordUpload({ cid: root.toString(), dealId, uploader, bytes: car.byteLength });
        }
      });
      return roots;
    });
  }

  /** Deletes the blocks of deals past their retention that no kept deal needs; returns how many. */
  collect(now = Date.now()): Promise<{ deals: number; blocks: number }> {
    return this.#lock.collect(async () => {
      const cutoff = now - this.#limits.retentionMs;
      const expired = this.#store.finishedDealsToCollect(cutoff);
      if (expired.length === 0) return { deals: 0, blocks: 0 };
      const keep = new Set<string>();
      for (const deal of this.#store.dealsToKeep(cutoff)) {
        for (const root of this.#roots(deal)) await this.#walk(root, keep, () => {});
      }
      const doomed = new Map<string, CID>();
      const seen = new Set<string>(keep);
      for (const deal of expired) {
        for (const root of this.#roots(deal))
          await this.#walk(root, seen, (key, cid) => doomed.set(key, cid));
      }
      for (const cid of doomed.values()) await this.#blockstore.delete(cid);
      this.#store.transaction(() => {
        for (const deal of expired) this.#store.markCollected(deal.id);
      });
      return { deals: expired.length, blocks: doomed.size };
    });
  }

  #roots(deal: StoredDeal): CID[] {
    const cids = new Set<string>();
    const module = this.#moduleOf(deal);
    if (module) cids.add(module);
    if (deal.resultCID) cids.add(deal.resultCID);
    for (const upload of this.#store.uploadsOfDeal(deal.id)) cids.add(upload.cid);
    const roots: CID[] = [];
    for (const text of cids) {
      try {
        roots.push(CID.parse(text));
      } catch {
        // not a CID this directory could hold
      }
    }
    return roots;
  }

  /**
   * Visits every stored block under `root` not in `seen` (keys are multihashes, as the blockstore keys
   * blocks), adding each to `seen`; a block already seen is not walked again, and missing ones are skipped.
   */
  async #walk(root: CID, seen: Set<string>, visit: (key: string, cid: CID) => void): Promise<void> {
    const stack = [root];
    while (stack.length > 0) {
      const cid = stack.pop() as CID;
      const key = Buffer.from(cid.multihash.bytes).toString('hex');
      if (seen.has(key) || inlineBlock(cid)) continue;
      seen.add(key);
      if (!(await this.#blockstore.has(cid))) continue;
      visit(key, cid);
      for (const link of blockLinks(cid, await getBlock(this.#blockstore, cid))) stack.push(link);
    }
  }
}
