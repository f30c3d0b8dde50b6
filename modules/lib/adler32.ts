// Adler-32 (RFC 1950), the checksum that ends a zlib stream.

const MOD: u32 = 65521;
// The largest run of bytes whose sums cannot overflow 32 bits before the modulo.
const RUN = 5552;

export function adler32(data: Uint8Array): u32 {
  let a: u32 = 1;
  let b: u32 = 0;
  let i = 0;
  while (i < data.length) {
    const end = min(i + RUN, data.length);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return (b << 16) | a;
}
