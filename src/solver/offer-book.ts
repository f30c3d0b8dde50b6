/**
 * The open market in memory, indexed so that a new offer finds its match without looking at every
 * other offer (the rules are matcher.ts's; test/solver/offer-book.test.ts checks on random markets that
 * this index and `matchJob` always agree).
 *
 * Open resource offers are grouped in classes of identical terms but price (machine spec, module
 * allowlist, mediators); each class keeps its offers sorted by price and by age, and is filed under
 * each mediator it trusts. A job looks only at the classes filed under its own mediators, skips a class
 * whose spec or allowlist does not fit with one comparison, and takes the head of the class: the
 * cheapest (market price) or the oldest affordable (fixed price). So a match costs O(classes · log n),
 * and there are few classes in a real market (a handful of machine types per mediator set).
 *
 * Jobs that found nothing wait in classes of the same kind (spec and mediators), oldest first, with
 * jobs for one target provider kept apart. An offer that opens (new, or back from a deal) serves the
 * oldest waiting job it fits. Because every job is matched when it arrives and every offer when it
 * opens, no waiting job ever has a fitting open offer, so an opening offer is the best (the only)
 * choice for any job it fits, and first come is first served.
 */
import { type Address, type Hex, zeroAddress } from 'viem';
import { type JobOffer, type MachineSpec, PricingMode, type ResourceOffer } from '../protocol/eip712.js';
import { ExpiryIndex } from './expiry-index.js';
import { byAge, type Misfit, matchJob, misfit, NoMatchTally, sameAddress, specShortfall } from './matcher.js';
import { SortedList } from './sorted-list.js';
import type { StoredJobOffer, StoredResourceOffer } from './store.js';

type ResourceEntry = {
  id: Hex;
  createdAt: number;
  price: bigint;
  priceNumber: number;
  expiry: bigint;
  stored: StoredResourceOffer;
  kind: ResourceClass;
};

type ResourceClass = {
  key: string;
  spec: MachineSpec;
  /** Module CIDs it runs, or undefined for any. */
  modules: Set<string> | undefined;
  mediators: string[];
  byPrice: SortedList<ResourceEntry>;
  byAge: SortedList<ResourceEntry>;
};

type JobEntry = {
  id: Hex;
  createdAt: number;
  expiry: bigint;
  stored: StoredJobOffer;
  /** Undefined for a job that names a target provider: those wait in `targeted`. */
  kind: JobClass | undefined;
};

type JobClass = { key: string; spec: MachineSpec; mediators: string[]; byAge: SortedList<JobEntry> };

// Prices compare as numbers first (cheap, and exact whenever they differ: Number() is monotonic), as
// bigints only when the numbers are equal.
const byPriceThenAge = (a: ResourceEntry, b: ResourceEntry) =>
  a.priceNumber < b.priceNumber
    ? -1
    : a.priceNumber > b.priceNumber
      ? 1
      : a.price < b.price
        ? -1
        : a.price > b.price
          ? 1
          : byAge(a, b);

const specKey = (s: MachineSpec) => `${s.cpu},${s.gpu},${s.gpuVram},${s.ram},${s.disk}`;
const lowerSorted = (addresses: readonly string[]) =>
  [...new Set(addresses.map((a) => a.toLowerCase()))].sort();

function fileUnder<C>(index: Map<string, Set<C>>, keys: string[], value: C): void {
  for (const key of keys) {
    const set = index.get(key) ?? new Set<C>();
    set.add(value);
    index.set(key, set);
  }
}

function unfileFrom<C>(index: Map<string, Set<C>>, keys: string[], value: C): void {
  for (const key of keys) {
    const set = index.get(key);
    set?.delete(value);
    if (set?.size === 0) index.delete(key);
  }
}

/**
 * The classes filed under any of `keys`, remembered per list of keys until a class comes or goes
 * (which is rare: classes are kinds of machines, not offers).
 */
class ClassIndex<C> {
  readonly #byKey = new Map<string, Set<C>>();
  readonly #unions = new Map<string, C[]>();

  file(keys: string[], kind: C): void {
    fileUnder(this.#byKey, keys, kind);
    this.#unions.clear();
  }

  unfile(keys: string[], kind: C): void {
    unfileFrom(this.#byKey, keys, kind);
    this.#unions.clear();
  }

  under(keys: readonly string[]): C[] {
    const id = keys.join(',');
    let union = this.#unions.get(id);
    if (!union) {
      const set = new Set<C>();
      for (const key of keys) for (const kind of this.#byKey.get(key.toLowerCase()) ?? []) set.add(kind);
      union = [...set];
      this.#unions.set(id, union);
    }
    return union;
  }
}

export class OfferBook {
  readonly solver: Address;
  readonly #resources = new Map<Hex, ResourceEntry>();
  readonly #resourceClasses = new Map<string, ResourceClass>();
  readonly #resourceClassesByMediator = new ClassIndex<ResourceClass>();
  readonly #resourcesByProvider = new Map<string, Set<ResourceEntry>>();
  readonly #resourceExpiry = new ExpiryIndex<ResourceEntry>();
  readonly #jobs = new Map<Hex, JobEntry>();
  readonly #jobClasses = new Map<string, JobClass>();
  readonly #jobClassesByMediator = new ClassIndex<JobClass>();
  readonly #targeted = new Map<string, SortedList<JobEntry>>();
  readonly #jobsByCreator = new Map<string, Set<JobEntry>>();
  readonly #jobExpiry = new ExpiryIndex<JobEntry>();

  constructor(solver: Address) {
    this.solver = solver;
  }

  get resourceCount(): number {
    return this.#resources.size;
  }

  get jobCount(): number {
    return this.#jobs.size;
  }

  hasResource(id: Hex): boolean {
    return this.#resources.has(id);
  }

  getJob(id: Hex): StoredJobOffer | undefined {
    return this.#jobs.get(id)?.stored;
  }

  /** Open resource offers, oldest first. */
  resources(): StoredResourceOffer[] {
    return [...this.#resources.values()].sort(byAge).map((entry) => entry.stored);
  }

  // ---- resource offers ----------------------------------------------------------------------------

  addResource(stored: StoredResourceOffer): void {
    const offer = stored.signed.offer;
    if (!sameAddress(offer.solver, this.solver)) throw new Error(`offer ${stored.id} names another solver`);
    if (this.#resources.has(stored.id)) return;
    const mediators = lowerSorted(offer.mediators);
    const modules = offer.modules.length > 0 ? [...new Set(offer.modules)].sort() : undefined;
    const key = `${specKey(offer.spec)}|${modules?.join(',') ?? '*'}|${mediators.join(',')}`;
    let kind = this.#resourceClasses.get(key);
    if (!kind) {
      kind = {
        key,
        spec: { ...offer.spec },
        modules: modules && new Set(modules),
        mediators,
        byPrice: new SortedList<ResourceEntry>(byPriceThenAge),
        byAge: new SortedList<ResourceEntry>(byAge),
      };
      this.#resourceClasses.set(key, kind);
      this.#resourceClassesByMediator.file(mediators, kind);
    }
    const entry: ResourceEntry = {
      id: stored.id,
      createdAt: stored.createdAt,
      price: offer.fixedPrice,
      priceNumber: Number(offer.fixedPrice),
      expiry: offer.expiry,
      stored,
      kind,
    };
    this.#resources.set(stored.id, entry);
    kind.byPrice.insert(entry);
    kind.byAge.insert(entry);
    this.#resourceExpiry.add(entry);
    fileUnder(this.#resourcesByProvider, [offer.resourceProvider.toLowerCase()], entry);
  }

  removeResource(id: Hex): StoredResourceOffer | undefined {
    const entry = this.#resources.get(id);
    if (!entry) return undefined;
    const { kind } = entry;
    this.#resources.delete(id);
    kind.byPrice.delete(entry);
    kind.byAge.delete(entry);
    this.#resourceExpiry.delete(entry);
    unfileFrom(this.#resourcesByProvider, [entry.stored.signed.offer.resourceProvider.toLowerCase()], entry);
    if (kind.byAge.size === 0) {
      this.#resourceClasses.delete(kind.key);
      this.#resourceClassesByMediator.unfile(kind.mediators, kind);
    }
    return entry.stored;
  }

  /** The open offer `job` takes under the rules, or undefined. */
  bestResourceFor(job: JobOffer, nowSeconds: bigint): StoredResourceOffer | undefined {
    if (!sameAddress(job.solver, this.solver)) return undefined;
    if (job.target !== zeroAddress) {
      const own = this.#resourcesByProvider.get(job.target.toLowerCase());
      return own
        ? matchJob(
            job,
            [...own].map((entry) => entry.stored),
            nowSeconds,
          ).match
        : undefined;
    }
    const market = job.pricingMode === PricingMode.market;
    let best: ResourceEntry | undefined;
    for (const kind of this.#resourceClassesByMediator.under(job.mediators)) {
      if (specShortfall(kind.spec, job.spec) || (kind.modules && !kind.modules.has(job.module))) continue;
      const candidate = market
        ? cheapest(kind, job.maxPrice, nowSeconds)
        : oldestAffordable(kind, job.maxPrice, nowSeconds, best);
      if (candidate && (!best || (market ? byPriceThenAge : byAge)(candidate, best) < 0)) best = candidate;
    }
    return best?.stored;
  }

  // ---- job offers ---------------------------------------------------------------------------------

  addJob(stored: StoredJobOffer): void {
    if (this.#jobs.has(stored.id)) return;
    const offer = stored.signed.offer;
    const entry: JobEntry = {
      id: stored.id,
      createdAt: stored.createdAt,
      expiry: offer.expiry,
      stored,
      kind: undefined,
    };
    if (offer.target !== zeroAddress) {
      const target = offer.target.toLowerCase();
      const list = this.#targeted.get(target) ?? new SortedList<JobEntry>(byAge);
      list.insert(entry);
      this.#targeted.set(target, list);
    } else {
      const mediators = lowerSorted(offer.mediators);
      const key = `${specKey(offer.spec)}|${mediators.join(',')}`;
      let kind = this.#jobClasses.get(key);
      if (!kind) {
        kind = { key, spec: { ...offer.spec }, mediators, byAge: new SortedList<JobEntry>(byAge) };
        this.#jobClasses.set(key, kind);
        this.#jobClassesByMediator.file(mediators, kind);
      }
      entry.kind = kind;
      kind.byAge.insert(entry);
    }
    this.#jobs.set(stored.id, entry);
    this.#jobExpiry.add(entry);
    fileUnder(this.#jobsByCreator, [offer.jobCreator.toLowerCase()], entry);
  }

  /** The waiting jobs of one job creator, oldest first. */
  jobsOf(jobCreator: Address): StoredJobOffer[] {
    return [...(this.#jobsByCreator.get(jobCreator.toLowerCase()) ?? [])].sort(byAge).map((e) => e.stored);
  }

  removeJob(id: Hex): StoredJobOffer | undefined {
    const entry = this.#jobs.get(id);
    if (!entry) return undefined;
    this.#jobs.delete(id);
    this.#jobExpiry.delete(entry);
    unfileFrom(this.#jobsByCreator, [entry.stored.signed.offer.jobCreator.toLowerCase()], entry);
    const { kind } = entry;
    if (kind) {
      kind.byAge.delete(entry);
      if (kind.byAge.size === 0) {
        this.#jobClasses.delete(kind.key);
        this.#jobClassesByMediator.unfile(kind.mediators, kind);
      }
    } else {
      const target = entry.stored.signed.offer.target.toLowerCase();
      const list = this.#targeted.get(target);
      list?.delete(entry);
      if (list?.size === 0) this.#targeted.delete(target);
    }
    return entry.stored;
  }

  /** The waiting job an opening resource offer serves: the oldest one it fits. */
  bestJobFor(offer: ResourceOffer, nowSeconds: bigint): StoredJobOffer | undefined {
    if (!sameAddress(offer.solver, this.solver)) return undefined;
    const modules = offer.modules.length > 0 ? new Set(offer.modules) : undefined;
    let best: JobEntry | undefined;
    for (const kind of this.#jobClassesByMediator.under(offer.mediators)) {
      if (specShortfall(offer.spec, kind.spec)) continue;
      for (const entry of kind.byAge) {
        if (best && byAge(entry, best) >= 0) break;
        const job = entry.stored.signed.offer;
        if (entry.expiry <= nowSeconds || job.maxPrice < offer.fixedPrice) continue;
        if (modules && !modules.has(job.module)) continue;
        best = entry;
        break;
      }
    }
    for (const entry of this.#targeted.get(offer.resourceProvider.toLowerCase()) ?? []) {
      if (best && byAge(entry, best) >= 0) break;
      if (!misfit(entry.stored.signed.offer, offer, nowSeconds)) {
        best = entry;
        break;
      }
    }
    return best?.stored;
  }

  // ---- expiry and explanations --------------------------------------------------------------------

  /** Takes every offer that has expired by `nowSeconds` out of the book and returns them. */
  takeExpired(nowSeconds: bigint): { resources: StoredResourceOffer[]; jobs: StoredJobOffer[] } {
    const resources: StoredResourceOffer[] = [];
    const jobs: StoredJobOffer[] = [];
    for (let first = this.#resourceExpiry.first(); first && first.expiry <= nowSeconds; ) {
      resources.push(this.removeResource(first.id) as StoredResourceOffer);
      first = this.#resourceExpiry.first();
    }
    for (let first = this.#jobExpiry.first(); first && first.expiry <= nowSeconds; ) {
      jobs.push(this.removeJob(first.id) as StoredJobOffer);
      first = this.#jobExpiry.first();
    }
    return { resources, jobs };
  }

  /** Why no open offer fits `job`, counted class by class: the same words as `matchJob`'s. */
  explain(job: JobOffer, nowSeconds: bigint): string {
    const tally = new NoMatchTally(job);
    if (!sameAddress(job.solver, this.solver)) {
      for (const kind of this.#resourceClasses.values())
        tally.add({ check: 'solver' }, kind.spec, kind.byAge.size);
      return tally.explain();
    }
    if (job.target !== zeroAddress) {
      const own = this.#resourcesByProvider.get(job.target.toLowerCase()) ?? new Set<ResourceEntry>();
      const notTarget: Misfit = { check: 'target', target: job.target };
      for (const kind of this.#resourceClasses.values()) {
        let others = kind.byAge.size;
        for (const entry of own) if (entry.kind === kind) others--;
        tally.add(notTarget, kind.spec, others);
      }
      for (const entry of own) tally.add(misfit(job, entry.stored.signed.offer, nowSeconds), entry.kind.spec);
      return tally.explain();
    }
    const mediators = new Set(job.mediators.map((m) => m.toLowerCase()));
    for (const kind of this.#resourceClasses.values()) {
      const field = specShortfall(kind.spec, job.spec);
      const size = kind.byAge.size;
      if (field) tally.add({ check: 'spec', field, need: job.spec[field] }, kind.spec, size);
      else if (kind.modules && !kind.modules.has(job.module)) tally.add({ check: 'module' }, kind.spec, size);
      else if (!kind.mediators.some((m) => mediators.has(m)))
        tally.add({ check: 'mediators' }, kind.spec, size);
      else {
        // Sorted by price: those at or under the job's price fit (none, for a job that waits), the rest ask more.
        let fits = 0;
        let expired = 0;
        let over: ResourceEntry | undefined;
        for (const entry of kind.byPrice) {
          if (entry.price > job.maxPrice) {
            over = entry;
            break;
          }
          if (entry.expiry <= nowSeconds) expired++;
          else fits++;
        }
        tally.add(undefined, kind.spec, fits);
        tally.add({ check: 'expiry' }, kind.spec, expired);
        if (over)
          tally.add(
            { check: 'price', asks: over.price, max: job.maxPrice },
            kind.spec,
            size - fits - expired,
          );
      }
    }
    return tally.explain();
  }
}

function cheapest(kind: ResourceClass, maxPrice: bigint, nowSeconds: bigint): ResourceEntry | undefined {
  for (const entry of kind.byPrice) {
    if (entry.price > maxPrice) return undefined;
    if (entry.expiry > nowSeconds) return entry;
  }
  return undefined;
}

/** The oldest offer of the class at or under `maxPrice`; stops once older than `than` is impossible. */
function oldestAffordable(
  kind: ResourceClass,
  maxPrice: bigint,
  nowSeconds: bigint,
  than: ResourceEntry | undefined,
): ResourceEntry | undefined {
  const floor = kind.byPrice.first();
  if (!floor || floor.price > maxPrice) return undefined;
  for (const entry of kind.byAge) {
    if (than && byAge(entry, than) >= 0) return undefined;
    if (entry.price <= maxPrice && entry.expiry > nowSeconds) return entry;
  }
  return undefined;
}
