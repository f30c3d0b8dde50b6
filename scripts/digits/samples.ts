/**
 * The digits data set, generated: each digit of a 5×7 font placed at a random offset in an 8×8 grid,
 * drawn at a random intensity, with random pixels of noise. A sample is 64 characters '0'–'9'
 * (intensity, row by row), the form the digits module reads. The same seed gives the same samples.
 */

const FONT: Record<number, string[]> = {
  0: ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  1: ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  2: ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  3: ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  4: ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  5: ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  6: ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  7: ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  8: ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  9: ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
};

/** The seed of the training samples; tests draw held-out samples with other seeds. */
export const TRAINING_SEED = 1;

export type Sample = { digit: number; pixels: string };

/** mulberry32: a small PRNG with a 32-bit state, the same sequence everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` samples, digits in turn, drawn with the PRNG seeded by `seed`. */
export function digitSamples(count: number, seed: number, noise = 0.05): Sample[] {
  const next = random(seed);
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const digit = i % 10;
    const grid = new Array<number>(64).fill(0);
    const dx = Math.floor(next() * 4);
    const dy = Math.floor(next() * 2);
    const ink = 5 + Math.floor(next() * 5);
    const rows = FONT[digit] as string[];
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 5; x++) if (rows[y]?.[x] === '#') grid[(y + dy) * 8 + x + dx] = ink;
    }
    for (let p = 0; p < 64; p++) {
      if (next() < noise) grid[p] = Math.floor(next() * 10);
    }
    samples.push({ digit, pixels: grid.join('') });
  }
  return samples;
}
