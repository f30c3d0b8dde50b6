/**
 * Matching rules (PROTOCOL.md, Offers): spec fits, price fits, a mediator both trust, same solver,
 * target and module allowlist respected. A market-price job takes the cheapest fitting resource offer
 * (ties: oldest); a fixed-price job the oldest affordable one. When nothing fits, the answer says why.
 *
 * `misfit` is the rule for one pair and `matchJob` applies it to every open offer: the reference that
 * the indexed OfferBook must agree with (test/solver/offer-book.test.ts checks that on random markets).
 * Both explain a job that waits with the same `NoMatchTally`, so their reasons read the same.
 */
import { formatEther, zeroAddress } from 'viem';
import { sharedMediators } from '../protocol/derive-deal.js';
import { type JobOffer, type MachineSpec, PricingMode, type ResourceOffer } from '../protocol/eip712.js';
import type { StoredResourceOffer } from './store.js';

export type MatchResult = { match: StoredResourceOffer } | { match: undefined; reason: string };

export const specFields: (keyof MachineSpec)[] = ['cpu', 'gpu', 'gpuVram', 'ram', 'disk'];

/** The first rule a resource offer breaks for a job, in the order they are checked. */
export type Misfit =
  | { check: 'solver' }
  | { check: 'expiry' }
  | { check: 'target'; target: string }
  | { check: 'spec'; field: keyof MachineSpec; need: number }
  | { check: 'module' }
  | { check: 'mediators' }
  | { check: 'price'; asks: bigint; max: bigint };

export const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function misfit(job: JobOffer, offer: ResourceOffer, nowSeconds: bigint): Misfit | undefined {
  if (!sameAddress(offer.solver, job.solver)) return { check: 'solver' };
  if (offer.expiry <= nowSeconds) return { check: 'expiry' };
  if (job.target !== zeroAddress && !sameAddress(job.target, offer.resourceProvider)) {
    return { check: 'target', target: job.target };
  }
  const field = specShortfall(offer.spec, job.spec);
  if (field) return { check: 'spec', field, need: job.spec[field] };
  if (offer.modules.length > 0 && !offer.modules.includes(job.module)) return { check: 'module' };
  if (sharedMediators(job, offer).length === 0) return { check: 'mediators' };
  if (offer.fixedPrice > job.maxPrice) return { check: 'price', asks: offer.fixedPrice, max: job.maxPrice };
  return undefined;
}

/** The first spec field in which `offered` falls short of `needed`, if any. */
export function specShortfall(offered: MachineSpec, needed: MachineSpec): keyof MachineSpec | undefined {
  for (const field of specFields) if (offered[field] < needed[field]) return field;
  return undefined;
}

export const formatLP = (amount: bigint) => `${formatEther(amount)} LP`;

/** What a misfit says about `count` offers ("1 has gpu < 1", "3 have gpu < 1"). */
function describeMisfit(misfit: Misfit, count = 1): string {
  const one = count === 1;
  switch (misfit.check) {
    case 'solver':
      return one ? 'names another solver' : 'name another solver';
    case 'expiry':
      return one ? 'has expired' : 'have expired';
    case 'target':
      return `${one ? 'is' : 'are'} not the target ${misfit.target}`;
    case 'spec':
      return `${one ? 'has' : 'have'} ${misfit.field} < ${misfit.need}`;
    case 'module':
      return one ? 'does not run this module' : 'do not run this module';
    case 'mediators':
      return one ? 'trusts none of your mediators' : 'trust none of your mediators';
    case 'price':
      return `${one ? 'asks' : 'ask'} ${formatLP(misfit.asks)} and you offer at most ${formatLP(misfit.max)}`;
  }
}

/** Why `candidate` cannot take `job`, or undefined when it can. */
export function whyNot(
  job: JobOffer,
  candidate: StoredResourceOffer,
  nowSeconds: bigint,
): string | undefined {
  const found = misfit(job, candidate.signed.offer, nowSeconds);
  return found && describeMisfit(found);
}

const checkOrder: Misfit['check'][] = ['solver', 'expiry', 'target', 'spec', 'module', 'mediators', 'price'];

/**
 * Counts why the open offers do not fit one job, by the first rule each breaks, and says it in one
 * line: "3 resource offers open, none fits: none has gpu >= 1; 2 have gpu < 1; 1 asks more than you
 * offer (the cheapest asks 2 LP, you offer at most 1 LP)".
 */
export class NoMatchTally {
  readonly #job: JobOffer;
  #total = 0;
  readonly #counts = new Map<string, { misfit: Misfit; count: number }>();
  #overPrice = 0;
  #cheapest: bigint | undefined;
  /** The most of each spec field any counted offer has. */
  readonly #best: MachineSpec = { cpu: 0, gpu: 0, gpuVram: 0, ram: 0, disk: 0 };

  constructor(job: JobOffer) {
    this.#job = job;
  }

  /** Counts `count` open offers with this spec that break `found` (undefined: they fit). */
  add(found: Misfit | undefined, spec: MachineSpec, count = 1): void {
    if (count <= 0) return;
    this.#total += count;
    if (found?.check !== 'solver' && found?.check !== 'expiry') {
      for (const field of specFields) this.#best[field] = Math.max(this.#best[field], spec[field]);
    }
    if (!found) return;
    if (found.check === 'price') {
      this.#overPrice += count;
      if (this.#cheapest === undefined || found.asks < this.#cheapest) this.#cheapest = found.asks;
      return;
    }
    const key = describeMisfit(found);
    const entry = this.#counts.get(key) ?? { misfit: found, count: 0 };
    entry.count += count;
    this.#counts.set(key, entry);
  }

  explain(): string {
    if (this.#total === 0) return 'no resource offer is open';
    const parts: string[] = [];
    for (const field of specFields) {
      if (this.#best[field] < this.#job.spec[field])
        parts.push(`none has ${field} >= ${this.#job.spec[field]}`);
    }
    const entries = [...this.#counts.values()].sort(
      (a, b) =>
        checkOrder.indexOf(a.misfit.check) - checkOrder.indexOf(b.misfit.check) ||
        (a.misfit.check === 'spec' && b.misfit.check === 'spec'
          ? specFields.indexOf(a.misfit.field) - specFields.indexOf(b.misfit.field)
          : 0),
    );
    for (const { misfit, count } of entries) parts.push(`${count} ${describeMisfit(misfit, count)}`);
    if (this.#overPrice > 0) {
      parts.push(
        `${this.#overPrice} ${this.#overPrice === 1 ? 'asks' : 'ask'} more than you offer (the cheapest asks ` +
          `${formatLP(this.#cheapest ?? 0n)}, you offer at most ${formatLP(this.#job.maxPrice)})`,
      );
    }
    const open = `${this.#total} resource offer${this.#total === 1 ? '' : 's'} open`;
    return `${open}, none fits: ${parts.join('; ')}`;
  }
}

/** Market-price order: cheapest first, then oldest, then by id. */
function byPriceThenAge(a: StoredResourceOffer, b: StoredResourceOffer): number {
  const pa = a.signed.offer.fixedPrice;
  const pb = b.signed.offer.fixedPrice;
  return pa < pb ? -1 : pa > pb ? 1 : byAge(a, b);
}

/** Fixed-price order (and every tie-break): oldest first, then by id. */
export function byAge(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The best open offer for `job` by checking every one: the reference for the indexed book. */
export function matchJob(job: JobOffer, openOffers: StoredResourceOffer[], nowSeconds: bigint): MatchResult {
  const fitting: StoredResourceOffer[] = [];
  const tally = new NoMatchTally(job);
  for (const candidate of openOffers) {
    const found = misfit(job, candidate.signed.offer, nowSeconds);
    tally.add(found, candidate.signed.offer.spec);
    if (!found) fitting.push(candidate);
  }
  fitting.sort(job.pricingMode === PricingMode.market ? byPriceThenAge : byAge);
  const [best] = fitting;
  return best ? { match: best } : { match: undefined, reason: tally.explain() };
}
