/**
 * A sorted list in chunks of at most a few hundred items: insert and delete cost a binary search over
 * the chunks, one within a chunk and a short splice, so O(log n) plus a small constant; iteration is
 * in order. The comparator must be a total order in which only an item equals itself (end it with a
 * unique key such as an id), so that `delete` finds exactly the item it is given.
 */
const MAX_CHUNK = 512;

export class SortedList<T> {
  readonly #compare: (a: T, b: T) => number;
  #chunks: T[][] = [];
  #size = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#size;
  }

  first(): T | undefined {
    return this.#chunks[0]?.[0];
  }

  insert(item: T): void {
    this.#size++;
    if (this.#chunks.length === 0) {
      this.#chunks.push([item]);
      return;
    }
    const c = Math.min(this.#chunkFor(item), this.#chunks.length - 1);
    const chunk = this.#chunks[c] as T[];
    chunk.splice(this.#indexIn(chunk, item), 0, item);
    if (chunk.length > MAX_CHUNK) this.#chunks.splice(c + 1, 0, chunk.splice(MAX_CHUNK / 2));
  }

  /** Removes `item`; returns whether it was there. */
  delete(item: T): boolean {
    const c = this.#chunkFor(item);
    const chunk = this.#chunks[c];
    if (!chunk) return false;
    const i = this.#indexIn(chunk, item);
    if (i >= chunk.length || this.#compare(chunk[i] as T, item) !== 0) return false;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.#chunks.splice(c, 1);
    this.#size--;
    return true;
  }

  /** In order; a plain iterator rather than a generator, as it is on the matching path. */
  [Symbol.iterator](): IterableIterator<T> {
    const chunks = this.#chunks;
    let c = 0;
    let i = 0;
    const iterator: IterableIterator<T> = {
      next(): IteratorResult<T> {
        while (c < chunks.length) {
          const chunk = chunks[c] as T[];
          if (i < chunk.length) return { done: false, value: chunk[i++] as T };
          c++;
          i = 0;
        }
        return { done: true, value: undefined };
      },
      [Symbol.iterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** The first chunk whose last item is not before `item` (chunks.length if none). */
  #chunkFor(item: T): number {
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.#chunks[mid] as T[];
      if (this.#compare(chunk[chunk.length - 1] as T, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index in `chunk` whose item is not before `item`. */
  #indexIn(chunk: T[], item: T): number {
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(chunk[mid] as T, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
