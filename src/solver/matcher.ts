/**
 * Matching rules (PROTOCOL.md, Offers): spec fits, price fits, a mediator both trust, same solver,
 * target and module allowlist respected. A market-price job takes the cheapest fitting resource offer
 * (ties: oldest); a fixed-price job the oldest affordable one. When nothing fits, the answer says why.
 */
import { zeroAddress } from 'viem';
import { sharedMediators } from '../protocol/derive-deal.js';
import { type JobOffer, type MachineSpec, PricingMode } from '../protocol/eip712.js';
import type { StoredResourceOffer } from './store.js';

export type MatchResult = { match: StoredResourceOffer } | { match: undefined; reason: string };

const specFields: (keyof MachineSpec)[] = ['cpu', 'gpu', 'gpuVram', 'ram', 'disk'];

/** Why `candidate` cannot take `job`, or undefined when it can. */
export function whyNot(
  job: JobOffer,
  candidate: StoredResourceOffer,
  nowSeconds: bigint,
): string | undefined {
  const offer = candidate.signed.offer;
  if (offer.solver.toLowerCase() !== job.solver.toLowerCase()) return 'names another solver';
  if (offer.expiry <= nowSeconds) return 'has expired';
  if (job.target !== zeroAddress && job.target.toLowerCase() !== offer.resourceProvider.toLowerCase()) {
    return `is not the target ${job.target}`;
  }
  for (const field of specFields) {
    if (offer.spec[field] < job.spec[field]) return `has ${field} < ${job.spec[field]}`;
  }
  if (offer.modules.length > 0 && !offer.modules.includes(job.module)) return 'does not run this module';
  if (sharedMediators(job, offer).length === 0) return 'trusts none of your mediators';
  if (offer.fixedPrice > job.maxPrice)
    return `asks ${offer.fixedPrice} and you offer at most ${job.maxPrice}`;
  return undefined;
}

export function matchJob(job: JobOffer, openOffers: StoredResourceOffer[], nowSeconds: bigint): MatchResult {
  const fitting: StoredResourceOffer[] = [];
  const reasons = new Map<string, number>();
  for (const candidate of openOffers) {
    const reason = whyNot(job, candidate, nowSeconds);
    if (reason === undefined) fitting.push(candidate);
    else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const byAge = (a: StoredResourceOffer, b: StoredResourceOffer) =>
    a.createdAt - b.createdAt || a.id.localeCompare(b.id);
  if (job.pricingMode === PricingMode.market) {
    fitting.sort((a, b) => {
      const pa = a.signed.offer.fixedPrice;
      const pb = b.signed.offer.fixedPrice;
      return pa < pb ? -1 : pa > pb ? 1 : byAge(a, b);
    });
  } else {
    fitting.sort(byAge);
  }
  const [best] = fitting;
  if (best) return { match: best };
  if (openOffers.length === 0) return { match: undefined, reason: 'no resource offer is open' };
  const summary = [...reasons].map(([reason, count]) => `${count} ${reason}`).join('; ');
  return { match: undefined, reason: `${openOffers.length} resource offers open, none fits: ${summary}` };
}
