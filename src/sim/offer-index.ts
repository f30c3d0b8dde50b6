/**
 * The solver's matching rule at simulator speed. `matchJob` (src/solver/matcher.ts) checks every open offer
 * for every job and sorts the fitting ones: right for a solver, but 10,000 offers × 100,000 jobs is 10⁹ checks.
 *
 * This index gives the same answer faster. Open offers are grouped into classes of offers that every job
 * judges alike (same solver, expiry, spec, module allowlist, trusted mediators and price: all `whyNot` reads,
 * except the provider's address, which only a targeted job looks at). A class keeps its open offers in a heap
 * ordered like the solver's tie-break (oldest `createdAt`, then id). A job asks the project's own `whyNot` once
 * per class (cached per job class), then takes the best head: the cheapest for a market-price job, the oldest
 * for a fixed-price one. A targeted job falls back to `matchJob` itself. Tests check both agree.
 */
import { zeroAddress } from 'viem';
import { type JobOffer, PricingMode } from '../protocol/eip712.js';
import { byAge, matchJob, whyNot } from '../solver/matcher.js';
import type { StoredResourceOffer } from '../solver/store.js';

/** The solver's order among equally good offers (its own `byAge`): oldest first, then by id. */
const older = (a: StoredResourceOffer, b: StoredResourceOffer): boolean => byAge(a, b) < 0;

class OfferClass {
  readonly heap: StoredResourceOffer[] = [];
  constructor(readonly representative: StoredResourceOffer) {}

  get fixedPrice(): bigint {
    return this.representative.signed.offer.fixedPrice;
  }

  push(offer: StoredResourceOffer): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(offer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as StoredResourceOffer;
      if (older(p, offer)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = offer;
  }

  pop(): StoredResourceOffer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      let c = heap[left] as StoredResourceOffer;
      const right = left + 1;
      if (right < n && older(heap[right] as StoredResourceOffer, c)) {
        child = right;
        c = heap[right] as StoredResourceOffer;
      }
      if (older(last, c)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  remove(offer: StoredResourceOffer): boolean {
    const at = this.heap.indexOf(offer);
    if (at < 0) return false;
    const rest = this.heap.splice(at, 1);
    const items = this.heap.splice(0);
    for (const item of items) this.push(item);
    return rest.length === 1;
  }
}

/** The fields `whyNot` reads, except the provider (only a targeted job reads it). */
function classKey(offer: StoredResourceOffer): string {
  const o = offer.signed.offer;
  const mediators = [...new Set(o.mediators.map((m) => m.toLowerCase()))].sort().join(',');
  const { cpu, gpu, gpuVram, ram, disk } = o.spec;
  return [
    o.solver.toLowerCase(),
    o.expiry,
    cpu,
    gpu,
    gpuVram,
    ram,
    disk,
    o.fixedPrice,
    o.modules.join(','),
    mediators,
  ].join('|');
}

type FitCache = { classes: OfferClass[]; validUntil: bigint };

/** What the engine needs of a matcher: open offers in, the solver's pick for a job out. */
export interface OfferMatcher {
  readonly openCount: number;
  open(offer: StoredResourceOffer): void;
  close(offer: StoredResourceOffer): void;
  take(job: JobOffer, now: bigint, jobClass?: string): StoredResourceOffer | undefined;
}

export class OfferIndex implements OfferMatcher {
  readonly #classes: OfferClass[] = [];
  readonly #classByKey = new Map<string, OfferClass>();
  readonly #classOf = new Map<StoredResourceOffer, OfferClass>();
  readonly #fitting = new Map<string, FitCache>();
  #open = 0;

  /** Open offers. */
  get openCount(): number {
    return this.#open;
  }

  /** Opens an offer (a new one, or one released by its settled deal). */
  open(offer: StoredResourceOffer): void {
    let cls = this.#classOf.get(offer);
    if (!cls) {
      const key = classKey(offer);
      cls = this.#classByKey.get(key);
      if (!cls) {
        cls = new OfferClass(offer);
        this.#classes.push(cls);
        this.#classByKey.set(key, cls);
        this.#fitting.clear(); // a new class may fit jobs that were cached without it
      }
      this.#classOf.set(offer, cls);
    }
    cls.push(offer);
    this.#open++;
  }

  /** Withdraws an open offer for good (its provider left the market). */
  close(offer: StoredResourceOffer): void {
    const cls = this.#classOf.get(offer);
    if (cls?.remove(offer)) this.#open--;
  }

  /** Every open offer, in class order: the input `matchJob` would get. */
  openOffers(): StoredResourceOffer[] {
    return this.#classes.flatMap((cls) => cls.heap);
  }

  /**
   * The offer the solver would match `job` with, taken out of the open set (it is busy until released), or
   * undefined. `jobClass` names jobs that `whyNot` judges alike (same solver, spec, module, mediators,
   * max price, no target): their fitting classes are computed once.
   */
  take(job: JobOffer, now: bigint, jobClass?: string): StoredResourceOffer | undefined {
    if (this.#open === 0) return undefined;
    if (job.target !== zeroAddress) return this.#takeTargeted(job, now);
    const fitting = this.#fittingClasses(job, now, jobClass);
    const market = job.pricingMode === PricingMode.market;
    let best: OfferClass | undefined;
    for (const cls of fitting) {
      const candidate = cls.heap[0];
      if (!candidate) continue;
      if (!best) {
        best = cls;
      } else if (market && cls.fixedPrice !== best.fixedPrice) {
        if (cls.fixedPrice < best.fixedPrice) best = cls;
      } else if (older(candidate, best.heap[0] as StoredResourceOffer)) {
        best = cls;
      }
    }
    if (!best) return undefined;
    this.#open--;
    return best.pop();
  }

  #fittingClasses(job: JobOffer, now: bigint, jobClass: string | undefined): OfferClass[] {
    const cached = jobClass === undefined ? undefined : this.#fitting.get(jobClass);
    if (cached && now < cached.validUntil) return cached.classes;
    const classes: OfferClass[] = [];
    let validUntil = 2n ** 256n;
    for (const cls of this.#classes) {
      if (whyNot(job, cls.representative, now) !== undefined) continue;
      classes.push(cls);
      const expiry = cls.representative.signed.offer.expiry;
      if (expiry < validUntil) validUntil = expiry;
    }
    if (jobClass !== undefined) this.#fitting.set(jobClass, { classes, validUntil });
    return classes;
  }

  #takeTargeted(job: JobOffer, now: bigint): StoredResourceOffer | undefined {
    const result = matchJob(job, this.openOffers(), now);
    if (!result.match) return undefined;
    this.close(result.match);
    return result.match;
  }
}
