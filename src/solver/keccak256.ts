/**
 * Keccak-256 (the pre-standard SHA-3 padding Ethereum uses), written for the solver's hot path: every
 * match derives a deal and hashes it (about seven permutations), and viem's keccak256 costs ~10 µs per
 * permutation here where this one costs ~2. Node's crypto has SHA3-256 but not Keccak-256 (the padding
 * differs), so it cannot be used. Checked against viem's keccak256 in test/solver/offer-hashes.test.ts.
 *
 * The 1600-bit state is 25 lanes of 64 bits, each held as two 32-bit halves (lo, hi) in an Int32Array.
 */

const RATE = 136; // bytes absorbed per permutation for a 256-bit output

// Round constants, as [lo, hi] pairs.
const ROUND_CONSTANTS = new Int32Array([
  0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
  0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
  0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
  0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
  0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
  0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
]);

const state = new Int32Array(50);

/**
 * Keccak-f[1600], unrolled (θ, ρ and π, χ, ι per round) so that every intermediate lives in a local:
 * several times faster in V8 than the same steps written as loops over rotation tables. Lane i is
 * s[2i] (low half) and s[2i + 1] (high half); rotations and π targets are the standard tables
 * (rotation of lane x + 5y: 0 1 62 28 27 / 36 44 6 55 20 / 3 10 43 25 39 / 41 45 15 21 8 / 18 2 61 56 14).
 */
function permute(s: Int32Array): void {
  let lo: number;
  let hi: number;
  let c0: number;
  let c1: number;
  let c2: number;
  let c3: number;
  let c4: number;
  let c5: number;
  let c6: number;
  let c7: number;
  let c8: number;
  let c9: number;
  let b0: number;
  let b1: number;
  let b2: number;
  let b3: number;
  let b4: number;
  let b5: number;
  let b6: number;
  let b7: number;
  let b8: number;
  let b9: number;
  let b10: number;
  let b11: number;
  let b12: number;
  let b13: number;
  let b14: number;
  let b15: number;
  let b16: number;
  let b17: number;
  let b18: number;
  let b19: number;
  let b20: number;
  let b21: number;
  let b22: number;
  let b23: number;
  let b24: number;
  let b25: number;
  let b26: number;
  let b27: number;
  let b28: number;
  let b29: number;
  let b30: number;
  let b31: number;
  let b32: number;
  let b33: number;
  let b34: number;
  let b35: number;
  let b36: number;
  let b37: number;
  let b38: number;
  let b39: number;
  let b40: number;
  let b41: number;
  let b42: number;
  let b43: number;
  let b44: number;
  let b45: number;
  let b46: number;
  let b47: number;
  let b48: number;
  let b49: number;
  for (let round = 0; round < 48; round += 2) {
    // θ
    c0 = s[0]! ^ s[10]! ^ s[20]! ^ s[30]! ^ s[40]!;
    c1 = s[1]! ^ s[11]! ^ s[21]! ^ s[31]! ^ s[41]!;
    c2 = s[2]! ^ s[12]! ^ s[22]! ^ s[32]! ^ s[42]!;
    c3 = s[3]! ^ s[13]! ^ s[23]! ^ s[33]! ^ s[43]!;
    c4 = s[4]! ^ s[14]! ^ s[24]! ^ s[34]! ^ s[44]!;
    c5 = s[5]! ^ s[15]! ^ s[25]! ^ s[35]! ^ s[45]!;
    c6 = s[6]! ^ s[16]! ^ s[26]! ^ s[36]! ^ s[46]!;
    c7 = s[7]! ^ s[17]! ^ s[27]! ^ s[37]! ^ s[47]!;
    c8 = s[8]! ^ s[18]! ^ s[28]! ^ s[38]! ^ s[48]!;
    c9 = s[9]! ^ s[19]! ^ s[29]! ^ s[39]! ^ s[49]!;
    lo = c8 ^ ((c2 << 1) | (c3 >>> 31));
    hi = c9 ^ ((c3 << 1) | (c2 >>> 31));
    s[0] ^= lo;
    s[1] ^= hi;
    s[10] ^= lo;
    s[11] ^= hi;
    s[20] ^= lo;
    s[21] ^= hi;
    s[30] ^= lo;
    s[31] ^= hi;
    s[40] ^= lo;
    s[41] ^= hi;
    lo = c0 ^ ((c4 << 1) | (c5 >>> 31));
    hi = c1 ^ ((c5 << 1) | (c4 >>> 31));
    s[2] ^= lo;
    s[3] ^= hi;
    s[12] ^= lo;
    s[13] ^= hi;
    s[22] ^= lo;
    s[23] ^= hi;
    s[32] ^= lo;
    s[33] ^= hi;
    s[42] ^= lo;
    s[43] ^= hi;
    lo = c2 ^ ((c6 << 1) | (c7 >>> 31));
    hi = c3 ^ ((c7 << 1) | (c6 >>> 31));
    s[4] ^= lo;
    s[5] ^= hi;
    s[14] ^= lo;
    s[15] ^= hi;
    s[24] ^= lo;
    s[25] ^= hi;
    s[34] ^= lo;
    s[35] ^= hi;
    s[44] ^= lo;
    s[45] ^= hi;
    lo = c4 ^ ((c8 << 1) | (c9 >>> 31));
    hi = c5 ^ ((c9 << 1) | (c8 >>> 31));
    s[6] ^= lo;
    s[7] ^= hi;
    s[16] ^= lo;
    s[17] ^= hi;
    s[26] ^= lo;
    s[27] ^= hi;
    s[36] ^= lo;
    s[37] ^= hi;
    s[46] ^= lo;
    s[47] ^= hi;
    lo = c6 ^ ((c0 << 1) | (c1 >>> 31));
    hi = c7 ^ ((c1 << 1) | (c0 >>> 31));
    s[8] ^= lo;
    s[9] ^= hi;
    s[18] ^= lo;
    s[19] ^= hi;
    s[28] ^= lo;
    s[29] ^= hi;
    s[38] ^= lo;
    s[39] ^= hi;
    s[48] ^= lo;
    s[49] ^= hi;
    // ρ and π
    b0 = s[0]!;
    b1 = s[1]!;
    b20 = (s[2]! << 1) | (s[3]! >>> 31);
    b21 = (s[3]! << 1) | (s[2]! >>> 31);
    b40 = (s[5]! << 30) | (s[4]! >>> 2);
    b41 = (s[4]! << 30) | (s[5]! >>> 2);
    b10 = (s[6]! << 28) | (s[7]! >>> 4);
    b11 = (s[7]! << 28) | (s[6]! >>> 4);
    b30 = (s[8]! << 27) | (s[9]! >>> 5);
    b31 = (s[9]! << 27) | (s[8]! >>> 5);
    b32 = (s[11]! << 4) | (s[10]! >>> 28);
    b33 = (s[10]! << 4) | (s[11]! >>> 28);
    b2 = (s[13]! << 12) | (s[12]! >>> 20);
    b3 = (s[12]! << 12) | (s[13]! >>> 20);
    b22 = (s[14]! << 6) | (s[15]! >>> 26);
    b23 = (s[15]! << 6) | (s[14]! >>> 26);
    b42 = (s[17]! << 23) | (s[16]! >>> 9);
    b43 = (s[16]! << 23) | (s[17]! >>> 9);
    b12 = (s[18]! << 20) | (s[19]! >>> 12);
    b13 = (s[19]! << 20) | (s[18]! >>> 12);
    b14 = (s[20]! << 3) | (s[21]! >>> 29);
    b15 = (s[21]! << 3) | (s[20]! >>> 29);
    b34 = (s[22]! << 10) | (s[23]! >>> 22);
    b35 = (s[23]! << 10) | (s[22]! >>> 22);
    b4 = (s[25]! << 11) | (s[24]! >>> 21);
    b5 = (s[24]! << 11) | (s[25]! >>> 21);
    b24 = (s[26]! << 25) | (s[27]! >>> 7);
    b25 = (s[27]! << 25) | (s[26]! >>> 7);
    b44 = (s[29]! << 7) | (s[28]! >>> 25);
    b45 = (s[28]! << 7) | (s[29]! >>> 25);
    b46 = (s[31]! << 9) | (s[30]! >>> 23);
    b47 = (s[30]! << 9) | (s[31]! >>> 23);
    b16 = (s[33]! << 13) | (s[32]! >>> 19);
    b17 = (s[32]! << 13) | (s[33]! >>> 19);
    b36 = (s[34]! << 15) | (s[35]! >>> 17);
    b37 = (s[35]! << 15) | (s[34]! >>> 17);
    b6 = (s[36]! << 21) | (s[37]! >>> 11);
    b7 = (s[37]! << 21) | (s[36]! >>> 11);
    b26 = (s[38]! << 8) | (s[39]! >>> 24);
    b27 = (s[39]! << 8) | (s[38]! >>> 24);
    b28 = (s[40]! << 18) | (s[41]! >>> 14);
    b29 = (s[41]! << 18) | (s[40]! >>> 14);
    b48 = (s[42]! << 2) | (s[43]! >>> 30);
    b49 = (s[43]! << 2) | (s[42]! >>> 30);
    b18 = (s[45]! << 29) | (s[44]! >>> 3);
    b19 = (s[44]! << 29) | (s[45]! >>> 3);
    b38 = (s[47]! << 24) | (s[46]! >>> 8);
    b39 = (s[46]! << 24) | (s[47]! >>> 8);
    b8 = (s[48]! << 14) | (s[49]! >>> 18);
    b9 = (s[49]! << 14) | (s[48]! >>> 18);
    // χ
    s[0] = b0 ^ (~b2 & b4);
    s[1] = b1 ^ (~b3 & b5);
    s[2] = b2 ^ (~b4 & b6);
    s[3] = b3 ^ (~b5 & b7);
    s[4] = b4 ^ (~b6 & b8);
    s[5] = b5 ^ (~b7 & b9);
    s[6] = b6 ^ (~b8 & b0);
    s[7] = b7 ^ (~b9 & b1);
    s[8] = b8 ^ (~b0 & b2);
    s[9] = b9 ^ (~b1 & b3);
    s[10] = b10 ^ (~b12 & b14);
    s[11] = b11 ^ (~b13 & b15);
    s[12] = b12 ^ (~b14 & b16);
    s[13] = b13 ^ (~b15 & b17);
    s[14] = b14 ^ (~b16 & b18);
    s[15] = b15 ^ (~b17 & b19);
    s[16] = b16 ^ (~b18 & b10);
    s[17] = b17 ^ (~b19 & b11);
    s[18] = b18 ^ (~b10 & b12);
    s[19] = b19 ^ (~b11 & b13);
    s[20] = b20 ^ (~b22 & b24);
    s[21] = b21 ^ (~b23 & b25);
    s[22] = b22 ^ (~b24 & b26);
    s[23] = b23 ^ (~b25 & b27);
    s[24] = b24 ^ (~b26 & b28);
    s[25] = b25 ^ (~b27 & b29);
    s[26] = b26 ^ (~b28 & b20);
    s[27] = b27 ^ (~b29 & b21);
    s[28] = b28 ^ (~b20 & b22);
    s[29] = b29 ^ (~b21 & b23);
    s[30] = b30 ^ (~b32 & b34);
    s[31] = b31 ^ (~b33 & b35);
    s[32] = b32 ^ (~b34 & b36);
    s[33] = b33 ^ (~b35 & b37);
    s[34] = b34 ^ (~b36 & b38);
    s[35] = b35 ^ (~b37 & b39);
    s[36] = b36 ^ (~b38 & b30);
    s[37] = b37 ^ (~b39 & b31);
    s[38] = b38 ^ (~b30 & b32);
    s[39] = b39 ^ (~b31 & b33);
    s[40] = b40 ^ (~b42 & b44);
    s[41] = b41 ^ (~b43 & b45);
    s[42] = b42 ^ (~b44 & b46);
    s[43] = b43 ^ (~b45 & b47);
    s[44] = b44 ^ (~b46 & b48);
    s[45] = b45 ^ (~b47 & b49);
    s[46] = b46 ^ (~b48 & b40);
    s[47] = b47 ^ (~b49 & b41);
    s[48] = b48 ^ (~b40 & b42);
    s[49] = b49 ^ (~b41 & b43);
    // ι
    s[0] ^= ROUND_CONSTANTS[round]!;
    s[1] ^= ROUND_CONSTANTS[round + 1]!;

  }
}

/** XORs `length` bytes of `data` from `offset` into the state, little-endian per 32-bit word. */
function absorb(data: Uint8Array, offset: number, length: number): void {
  const words = length >> 2;
  for (let w = 0, i = offset; w < words; w++, i += 4) {
    state[w] ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
  }
  for (let i = words << 2; i < length; i++) state[i >> 2] ^= data[offset + i]! << ((i & 3) << 3);
}

/** Keccak-256 of `data` into `out` at `outOffset` (32 bytes). */
export function keccak256Into(data: Uint8Array, out: Uint8Array, outOffset = 0): void {
  state.fill(0);
  let offset = 0;
  while (data.length - offset >= RATE) {
    absorb(data, offset, RATE);
    permute(state);
    offset += RATE;
  }
  const rest = data.length - offset;
  absorb(data, offset, rest);
  state[rest >> 2] ^= 0x01 << ((rest & 3) << 3);
  state[(RATE - 1) >> 2] ^= 0x80 << (((RATE - 1) & 3) << 3);
  permute(state);
  for (let i = 0; i < 32; i++) out[outOffset + i] = (state[i >> 2]! >>> ((i & 3) << 3)) & 0xff;
}

export function keccak256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(data, out);
  return out;
}
