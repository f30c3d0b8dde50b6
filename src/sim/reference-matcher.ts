/**
 * The solver's own `matchJob` over a plain list of open offers: slow (every offer, every job) and obviously
 * right. The engine can run on it (`matcher: 'reference'`) to check that the fast index changes nothing.
 */
import type { JobOffer } from '../protocol/eip712.js';
import { matchJob } from '../solver/matcher.js';
import type { StoredResourceOffer } from '../solver/store.js';
import type { OfferMatcher } from './offer-index.js';

export class ReferenceMatcher implements OfferMatcher {
  #open: StoredResourceOffer[] = [];

  get openCount(): number {
    return this.#open.length;
  }

  open(offer: StoredResourceOffer): void {
    this.#open.push(offer);
  }

  close(offer: StoredResourceOffer): void {
    this.#open = this.#open.filter((o) => o !== offer);
  }

  take(job: JobOffer, now: bigint): StoredResourceOffer | undefined {
    const result = matchJob(job, this.#open, now);
    if (result.match) this.close(result.match);
    return result.match;
  }
}
