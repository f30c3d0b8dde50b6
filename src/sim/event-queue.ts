/**
 * The simulator's clock: a binary min-heap of events ordered by (time, insertion order). Events at the same
 * simulated second run in the order they were scheduled, so a run never depends on the heap's internals.
 */

export type Scheduled<T> = { time: number; seq: number; event: T };

export class EventQueue<T> {
  #heap: Scheduled<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(time: number, event: T): void {
    const heap = this.#heap;
    const item: Scheduled<T> = { time, seq: this.#seq++, event };
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Scheduled<T>;
      if (p.time < time || (p.time === time && p.seq < item.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  /** The earliest event, or undefined when the queue is empty. */
  pop(): Scheduled<T> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = heap[left] as Scheduled<T>;
      if (right < n) {
        const r = heap[right] as Scheduled<T>;
        if (r.time < c.time || (r.time === c.time && r.seq < c.seq)) {
          child = right;
          c = r;
        }
      }
      if (last.time < c.time || (last.time === c.time && last.seq < c.seq)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
