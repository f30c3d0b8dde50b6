/**
 * The simulator's clock: a binary min-heap of events ordered by (time, insertion order). Events at the same
 * simulated second run in the order they were scheduled, so a run never depends on the heap's internals.
 * The queue writes `time` and `seq` into the event itself (one object per event, not two: a run schedules
 * hundreds of thousands).
 */

export type Timed = { time: number; seq: number };

export class EventQueue<T extends Timed> {
  #heap: T[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(time: number, event: T): void {
    event.time = time;
    event.seq = this.#seq++;
    const heap = this.#heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as T;
      if (p.time < time || (p.time === time && p.seq < event.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** The earliest event, left in the queue. */
  peek(): T | undefined {
    return this.#heap[0];
  }

  /** The earliest event, taken out, or undefined when the queue is empty. */
  pop(): T | undefined {
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
      let c = heap[left] as T;
      if (right < n) {
        const r = heap[right] as T;
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
