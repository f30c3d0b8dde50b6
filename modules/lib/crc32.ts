// CRC-32 (ISO 3309, the polynomial 0xEDB88320 reflected), as PNG chunks carry it.

const table = new StaticArray<u32>(256);
for (let n: u32 = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[n] = c;
}

/** Continues a CRC over `data[from, to)`; start with 0. */
export function crc32(data: Uint8Array, from: i32, to: i32, crc: u32 = 0): u32 {
  let c = ~crc;
  for (let i = from; i < to; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c;
}
