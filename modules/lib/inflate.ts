// DEFLATE decompression (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks, in the manner of
// zlib's `puff`: canonical codes decoded by counting codes of each length.
import { ByteBuffer } from './byte-buffer';
import { DISTANCE_BASE, DISTANCE_EXTRA, LENGTH_BASE, LENGTH_EXTRA } from './deflate-tables';

const MAX_BITS = 15;
// The order in which a dynamic block sends the code lengths of the code-length alphabet.
const CODE_LENGTH_ORDER: StaticArray<u8> = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

// A canonical Huffman code: how many codes have each length, and the symbols in code order.
class Huffman {
  counts: StaticArray<u16> = new StaticArray<u16>(MAX_BITS + 1);
  symbols: StaticArray<u16>;

  constructor(lengths: StaticArray<u8>, n: i32) {
    this.symbols = new StaticArray<u16>(n);
    for (let s = 0; s < n; s++) this.counts[lengths[s]]++;
    const offsets = new StaticArray<u16>(MAX_BITS + 2);
    for (let len = 1; len < MAX_BITS; len++) offsets[len + 1] = offsets[len] + this.counts[len];
    for (let s = 0; s < n; s++) {
      if (lengths[s] !== 0) this.symbols[offsets[lengths[s]]++] = <u16>s;
    }
  }
}

/** Why the last `inflate` returned null. */
export let inflateError = '';

class Inflater {
  pos: i32;
  bitBuffer: u32 = 0;
  bitCount: i32 = 0;
  out: ByteBuffer = new ByteBuffer();
  failed: bool = false;

  constructor(
    public input: Uint8Array,
    start: i32,
  ) {
    this.pos = start;
  }

  fail(message: string): void {
    if (!this.failed) inflateError = message;
    this.failed = true;
  }

  bits(need: i32): u32 {
    let value = this.bitBuffer;
    while (this.bitCount < need) {
      if (this.pos >= this.input.length) {
        this.fail('the compressed data ends early');
        return 0;
      }
      value |= (<u32>this.input[this.pos++]) << this.bitCount;
      this.bitCount += 8;
    }
    this.bitBuffer = value >>> need;
    this.bitCount -= need;
    return value & ((1 << need) - 1);
  }

  decode(h: Huffman): i32 {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= MAX_BITS; len++) {
      code |= this.bits(1);
      const count = <i32>h.counts[len];
      if (code - count < first) return h.symbols[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
      if (this.failed) return -1;
    }
    this.fail('an invalid Huffman code');
    return -1;
  }

  stored(): void {
    this.bitBuffer = 0;
    this.bitCount = 0;
    if (this.pos + 4 > this.input.length) {
      this.fail('a stored block ends early');
      return;
    }
    const len = <i32>this.input[this.pos] | ((<i32>this.input[this.pos + 1]) << 8);
    const nlen = <i32>this.input[this.pos + 2] | ((<i32>this.input[this.pos + 3]) << 8);
    this.pos += 4;
    if (len !== (~nlen & 0xffff)) {
      this.fail('a stored block length does not match its complement');
      return;
    }
    if (this.pos + len > this.input.length) {
      this.fail('a stored block ends early');
      return;
    }
    this.out.pushBytes(this.input.subarray(this.pos, this.pos + len));
    this.pos += len;
  }

  codes(lengthCode: Huffman, distanceCode: Huffman): void {
    while (!this.failed) {
      const symbol = this.decode(lengthCode);
      if (symbol < 0) return;
      if (symbol < 256) {
        this.out.push(<u32>symbol);
        continue;
      }
      if (symbol === 256) return;
      const l = symbol - 257;
      if (l >= 29) {
        this.fail('an invalid length symbol');
        return;
      }
      const length = <i32>LENGTH_BASE[l] + <i32>this.bits(LENGTH_EXTRA[l]);
      const d = this.decode(distanceCode);
      if (d < 0) return;
      if (d >= 30) {
        this.fail('an invalid distance symbol');
        return;
      }
      const distance = <i32>DISTANCE_BASE[d] + <i32>this.bits(DISTANCE_EXTRA[d]);
      if (distance > this.out.length) {
        this.fail('a distance reaches before the start');
        return;
      }
      this.out.reserve(length);
      const bytes = this.out.bytes;
      let at = this.out.length;
      for (let i = 0; i < length; i++, at++) bytes[at] = bytes[at - distance];
      this.out.length = at;
    }
  }

  fixed(): void {
    const lengths = new StaticArray<u8>(288);
    for (let s = 0; s < 288; s++) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    const lengthCode = new Huffman(lengths, 288);
    const distances = new StaticArray<u8>(30);
    for (let s = 0; s < 30; s++) distances[s] = 5;
    this.codes(lengthCode, new Huffman(distances, 30));
  }

  dynamic(): void {
    const nlen = <i32>this.bits(5) + 257;
    const ndist = <i32>this.bits(5) + 1;
    const ncode = <i32>this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) {
      this.fail('a dynamic block has too many codes');
      return;
    }
    const lengths = new StaticArray<u8>(316);
    for (let i = 0; i < ncode; i++) lengths[CODE_LENGTH_ORDER[i]] = <u8>this.bits(3);
    const lencode = new Huffman(lengths, 19);
    const all = new StaticArray<u8>(316);
    let index = 0;
    while (index < nlen + ndist && !this.failed) {
      const symbol = this.decode(lencode);
      if (symbol < 0) return;
      if (symbol < 16) {
        all[index++] = <u8>symbol;
        continue;
      }
      let value: u8 = 0;
      let repeat = 0;
      if (symbol === 16) {
        if (index === 0) {
          this.fail('a repeat with no previous length');
          return;
        }
        value = all[index - 1];
        repeat = 3 + <i32>this.bits(2);
      } else if (symbol === 17) {
        repeat = 3 + <i32>this.bits(3);
      } else {
        repeat = 11 + <i32>this.bits(7);
      }
      if (index + repeat > nlen + ndist) {
        this.fail('code lengths repeat past the end');
        return;
      }
      for (let i = 0; i < repeat; i++) all[index++] = value;
    }
    if (this.failed) return;
    if (all[256] === 0) {
      this.fail('a dynamic block without an end-of-block code');
      return;
    }
    const litLengths = new StaticArray<u8>(nlen);
    for (let i = 0; i < nlen; i++) litLengths[i] = all[i];
    const distLengths = new StaticArray<u8>(ndist);
    for (let i = 0; i < ndist; i++) distLengths[i] = all[nlen + i];
    this.codes(new Huffman(litLengths, nlen), new Huffman(distLengths, ndist));
  }

  run(): void {
    let last: u32 = 0;
    while (last === 0 && !this.failed) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.fixed();
      else if (type === 2) this.dynamic();
      else this.fail('an invalid block type');
    }
  }
}

/** The bytes a raw DEFLATE stream starting at `input[start]` holds; null (see `inflateError`) if bad. */
export function inflate(input: Uint8Array, start: i32 = 0): Uint8Array | null {
  const inflater = new Inflater(input, start);
  inflater.run();
  return inflater.failed ? null : inflater.out.toBytes();
}
