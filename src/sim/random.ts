/**
 * The simulator's only source of chance: a seeded PRNG (sfc32, seeded through splitmix32), so the same seed
 * gives the same run on every machine. `Math.random` is never used.
 *
 * A run draws from several named streams (`random.stream('arrivals')`, `…('providers')`) so that changing
 * how often one concern draws does not shift every other concern's numbers: two runs of a sweep that differ in
 * one parameter still share their arrivals (common random numbers), which makes the curves smooth.
 */

/** splitmix32: turns any 32-bit value into a well-mixed one; used to seed and to derive streams. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a label: a stable 32-bit hash for stream names. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  readonly seed: number;

  /** `seed` is any integer; it is reduced to 32 bits. */
  constructor(seed: number) {
    this.seed = seed >>> 0;
    const mix = splitmix32(this.seed);
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.nextUint32(); // let the state diffuse
  }

  /** An independent stream named `label`, derived from this generator's seed (not from its position). */
  stream(label: string): Random {
    return new Random((splitmix32(this.seed ^ hashLabel(label))() ^ hashLabel(`${label}#`)) >>> 0);
  }

  /** sfc32: 32 random bits. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** True with probability `p` (p ≤ 0 never draws true, p ≥ 1 always; both still consume one draw). */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** `k` distinct items of `items`, in draw order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = items.slice();
    const count = Math.min(k, pool.length);
    for (let i = 0; i < count; i++) {
      const j = i + this.int(pool.length - i);
      const swap = pool[i] as T;
      pool[i] = pool[j] as T;
      pool[j] = swap;
    }
    return pool.slice(0, count);
  }
}
