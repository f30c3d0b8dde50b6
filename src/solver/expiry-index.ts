/**
 * Offers by expiry, for taking the expired ones off the market: one bucket per distinct expiry (offers
 * made together usually share one), the expiries kept sorted. Adding or removing an offer costs a map
 * look-up, not a search among all the others as one sorted list would.
 */
import { SortedList } from './sorted-list.js';

export class ExpiryIndex<E extends { expiry: bigint }> {
  readonly #buckets = new Map<bigint, Set<E>>();
  readonly #expiries = new SortedList<bigint>((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  add(entry: E): void {
    let bucket = this.#buckets.get(entry.expiry);
    if (!bucket) {
      bucket = new Set();
      this.#buckets.set(entry.expiry, bucket);
      this.#expiries.insert(entry.expiry);
    }
    bucket.add(entry);
  }

  delete(entry: E): void {
    const bucket = this.#buckets.get(entry.expiry);
    if (!bucket?.delete(entry) || bucket.size > 0) return;
    this.#buckets.delete(entry.expiry);
    this.#expiries.delete(entry.expiry);
  }

  /** An entry with the earliest expiry. */
  first(): E | undefined {
    const earliest = this.#expiries.first();
    return earliest === undefined ? undefined : this.#buckets.get(earliest)?.values().next().value;
  }
}
