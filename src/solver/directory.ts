/**
 * The directory's housekeeping: uploads count against their uploader's quota, and the content of
 * finished deals (settled or cancelled) is kept for a retention period, then collected. A module can
 * also be published outside any deal (see module-car.ts for what is accepted): it is pinned while it
 * was published, or used by a deal, within the module retention, and counts against its publisher's
 * quota as long. Collection is mark and sweep over the blocks the store knows about: everything
 * reachable from a deal or pin still kept is marked; what is reachable only from deals and pins past
 * their retention is deleted. A deal's content is its module, the result and every upload made for it.
 * Uploads and collection exclude each other, so a block being uploaded is never swept.
 */

import { CID } from 'multiformats/cid';
import type { Address, Hex } from 'viem';
import type { ModuleManifest } from '../modules/manifest.js';
import { LilypadError } from '../protocol/errors.js';
import { type Blockstore, getBlock } from '../storage/blockstore.js';
import { importCar } from '../storage/car.js';
import { blockLinks, inlineBlock } from '../storage/dag.js';
import { checkModuleCar } from './module-car.js';
import { finalDealStatuses, type ModulePin, type Store, type StoredDeal } from './store.js';

export type DirectoryLimits = {
  /** Largest CAR one request may upload. */
  maxUploadBytes: number;
  /** Most bytes one address may keep in the directory, over deals whose content is not collected. */
  uploadQuotaBytes: number;
  /** How long the content of a settled or cancelled deal is kept. */
  retentionMs: number;
  /** How long a published module is pinned after its publication, or after a deal last used it. */
  moduleRetentionMs: number;
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
      this.#checkQuota(uploader, car.byteLength);
      const roots = await importCar(this.#blockstore, car, { maxBytes: this.#limits.maxUploadBytes });
      this.#store.transaction(() => {
        for (const root of roots) {
          this.#store.recordUpload({ cid: root.toString(), dealId, uploader, bytes: car.byteLength });
        }
      });
      return roots;
    });
  }

  /**
   * Stores a module folder published by `publisher` and pins it (a publisher's second publication of
   * the same module renews its pin without counting twice); refuses what is not one whole module
   * (NotAModuleError) and what would exceed the quota.
   */
  publishModule(
    publisher: Address,
    car: Uint8Array,
    now = Date.now(),
  ): Promise<{ cid: CID; manifest: ModuleManifest; pinnedUntil: number }> {
    return this.#lock.upload(async () => {
      const { root, manifest } = await checkModuleCar(car, this.#limits.maxUploadBytes);
      const cid = root.toString();
      const renewed = this.#store.modulePin(cid, publisher);
      this.#checkQuota(publisher, car.byteLength - (renewed?.bytes ?? 0));
      await importCar(this.#blockstore, car);
      this.#store.transaction(() =>
        this.#store.recordModulePin({ cid, publisher, bytes: car.byteLength, publishedAt: now }),
      );
      return { cid: root, manifest, pinnedUntil: now + this.#limits.moduleRetentionMs };
    });
  }

  #checkQuota(uploader: Address, more: number): void {
    const used = this.#store.uploadedBytes(uploader);
    if (used + more > this.#limits.uploadQuotaBytes) {
      throw new QuotaExceededError(
        `${uploader} keeps ${used} bytes in the directory; ${more} more would pass its quota of ${this.#limits.uploadQuotaBytes}`,
        {
          hint: 'content of settled deals, and published modules no deal uses, are collected after their retention; retry later',
        },
      );
    }
  }

  /**
   * Deletes the blocks of deals and module pins past their retention that nothing kept needs; returns
   * how many deals and pins were collected, and how many blocks deleted.
   */
  collect(now = Date.now()): Promise<{ deals: number; modules: number; blocks: number }> {
    return this.#lock.collect(async () => {
      const cutoff = now - this.#limits.retentionMs;
      const moduleCutoff = now - this.#limits.moduleRetentionMs;
      const expired = this.#store.finishedDealsToCollect(cutoff);
      // A pin's last use can only move forward, so pins that are not candidates now will not be below.
      if (expired.length === 0 && this.#store.modulePinsToCollect(moduleCutoff).length === 0) {
        return { deals: 0, modules: 0, blocks: 0 };
      }
      const kept = this.#store.dealsToKeep(cutoff);
      // Every deal whose content is still here records its use of its module: active ones now,
      // finished ones when they finished. A deal is seen here at least once before it is collected.
      this.#store.transaction(() => {
        for (const deal of [...kept, ...expired]) {
          const module = this.#moduleOf(deal);
          const finished = finalDealStatuses.includes(deal.status);
          if (module) this.#store.touchModulePin(module, finished ? deal.updatedAt : now);
        }
      });
      const expiredPins = this.#store.modulePinsToCollect(moduleCutoff);
      if (expired.length === 0 && expiredPins.length === 0) return { deals: 0, modules: 0, blocks: 0 };

      const keep = new Set<string>();
      const keptRoots = [
        ...kept.flatMap((deal) => this.#roots(deal)),
        ...cidsOf(this.#store.modulePinsToKeep(moduleCutoff)),
      ];
      for (const root of keptRoots) await this.#walk(root, keep, () => {});
      const doomed = new Map<string, CID>();
      const seen = new Set<string>(keep);
      const doomedRoots = [...expired.flatMap((deal) => this.#roots(deal)), ...cidsOf(expiredPins)];
      for (const root of doomedRoots) await this.#walk(root, seen, (key, cid) => doomed.set(key, cid));
      for (const cid of doomed.values()) await this.#blockstore.delete(cid);
      this.#store.transaction(() => {
        for (const deal of expired) this.#store.markCollected(deal.id);
        for (const pin of expiredPins) this.#store.markModulePinCollected(pin.cid, pin.publisher);
      });
      return { deals: expired.length, modules: expiredPins.length, blocks: doomed.size };
    });
  }

  #roots(deal: StoredDeal): CID[] {
    const cids = new Set<string>();
    const module = this.#moduleOf(deal);
    if (module) cids.add(module);
    if (deal.resultCID) cids.add(deal.resultCID);
    for (const upload of this.#store.uploadsOfDeal(deal.id)) cids.add(upload.cid);
    return parseCids(cids);
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

/** The CIDs among `texts` (a job offer may name a module by something this directory could not hold). */
function parseCids(texts: Iterable<string>): CID[] {
  const cids: CID[] = [];
  for (const text of texts) {
    try {
      cids.push(CID.parse(text));
    } catch {
      // not a CID this directory could hold
    }
  }
  return cids;
}

const cidsOf = (pins: ModulePin[]) => parseCids(new Set(pins.map((pin) => pin.cid)));
