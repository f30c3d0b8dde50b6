// DEFLATE compression (RFC 1951) in one fixed-Huffman block, with LZ77 matches found through a hash of
// the next three bytes (one candidate per hash, no lazy matching): small code, decent ratios on images.
import { ByteBuffer } from './byte-buffer';
import { DISTANCE_BASE, DISTANCE_EXTRA, LENGTH_BASE, LENGTH_EXTRA } from './deflate-tables';

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const HASH_BITS = 15;

// Bits go out least significant first; Huffman codes are defined most significant first.
class BitWriter {
  out: ByteBuffer = new ByteBuffer();
  buffer: u32 = 0;
  count: i32 = 0;

  bits(value: u32, n: i32): void {
    this.buffer |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.out.push(this.buffer & 0xff);
      this.buffer >>>= 8;
      this.count -= 8;
    }
  }

  code(code: u32, n: i32): void {
    let reversed: u32 = 0;
    for (let i = 0; i < n; i++) reversed |= ((code >>> i) & 1) << (n - 1 - i);
    this.bits(reversed, n);
  }

  flush(): void {
    if (this.count > 0) this.out.push(this.buffer & 0xff);
    this.buffer = 0;
    this.count = 0;
  }
}

// The fixed literal/length code (RFC 1951, 3.2.6).
function literal(w: BitWriter, symbol: i32): void {
  if (symbol < 144) w.code(0x30 + symbol, 8);
  else if (symbol < 256) w.code(0x190 + symbol - 144, 9);
  else if (symbol < 280) w.code(symbol - 256, 7);
  else w.code(0xc0 + symbol - 280, 8);
}

function match(w: BitWriter, length: i32, distance: i32): void {
  let l = 28;
  while (<i32>LENGTH_BASE[l] > length) l--;
  literal(w, 257 + l);
  w.bits(length - <i32>LENGTH_BASE[l], LENGTH_EXTRA[l]);
  let d = 29;
  while (<i32>DISTANCE_BASE[d] > distance) d--;
  w.code(d, 5);
  w.bits(distance - <i32>DISTANCE_BASE[d], DISTANCE_EXTRA[d]);
}

function hash3(data: Uint8Array, i: i32): i32 {
  const v = ((<u32>data[i]) << 16) | ((<u32>data[i + 1]) << 8) | <u32>data[i + 2];
  return <i32>((v * 2654435761) >>> (32 - HASH_BITS));
}

/** `data` as a raw DEFLATE stream. */
export function deflate(data: Uint8Array): Uint8Array {
  const w = new BitWriter();
  w.bits(1, 1); // the last block
  w.bits(1, 2); // fixed Huffman codes
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const n = data.length;
  let i = 0;
  while (i < n) {
    let best = 0;
    if (i + MIN_MATCH <= n) {
      const h = hash3(data, i);
      const candidate = head[h];
      head[h] = i;
      if (candidate >= 0 && i - candidate <= WINDOW) {
        const limit = min(MAX_MATCH, n - i);
        while (best < limit && data[candidate + best] === data[i + best]) best++;
      }
      if (best >= MIN_MATCH) {
        match(w, best, i - candidate);
        // Index the positions the match covers, so later data can refer to them.
        for (let k = i + 1; k < i + best && k + MIN_MATCH <= n; k++) head[hash3(data, k)] = k;
        i += best;
        continue;
      }
    }
    literal(w, data[i]);
    i++;
  }
  literal(w, 256);
  w.flush();
  return w.out.toBytes();
}
