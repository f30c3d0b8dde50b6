// A compute-heavy WASI command for the metering benchmark: `sha256 <rounds>` hashes 1 MiB of
// pseudo-random bytes `rounds` times (SHA-256 compression, big basic blocks); `fnv <rounds>` runs
// FNV-1a over the same bytes (a tight loop of ~10 instructions, the worst case for metering).
// Prints the final hash in hex. AssemblyScript, compiled by the benchmark.

@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argc: usize, size: usize): u16;
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argv: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, len: usize, nwritten: usize): u16;

const SIZE: i32 = 1 << 20;
const scratch = memory.data(64);
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const W = new StaticArray<u32>(64);
const H = new StaticArray<u32>(8);

function compress(block: usize): void {
  for (let i = 0; i < 16; i++) unchecked((W[i] = bswap<u32>(load<u32>(block + (<usize>i << 2)))));
  for (let i = 16; i < 64; i++) {
    const w15 = unchecked(W[i - 15]);
    const w2 = unchecked(W[i - 2]);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    unchecked((W[i] = unchecked(W[i - 16]) + s0 + unchecked(W[i - 7]) + s1));
  }
  let a = unchecked(H[0]);
  let b = unchecked(H[1]);
  let c = unchecked(H[2]);
  let d = unchecked(H[3]);
  let e = unchecked(H[4]);
  let f = unchecked(H[5]);
  let g = unchecked(H[6]);
  let h = unchecked(H[7]);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + unchecked(K[i]) + unchecked(W[i]);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  unchecked((H[0] += a));
  unchecked((H[1] += b));
  unchecked((H[2] += c));
  unchecked((H[3] += d));
  unchecked((H[4] += e));
  unchecked((H[5] += f));
  unchecked((H[6] += g));
  unchecked((H[7] += h));
}

function hex(value: u32): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let shift = 28; shift >= 0; shift -= 4) out += digits.charAt((value >>> shift) & 15);
  return out;
}

function print(text: string): void {
  const bytes = String.UTF8.encode(text);
  store<u32>(scratch, <u32>changetype<usize>(bytes));
  store<u32>(scratch + 4, bytes.byteLength);
  fd_write(1, scratch, 1, scratch + 8);
}

function args(): string[] {
  args_sizes_get(scratch, scratch + 4);
  const count = load<u32>(scratch);
  const pointers = new ArrayBuffer(<i32>count * 4);
  const buffer = new ArrayBuffer(<i32>load<u32>(scratch + 4));
  args_get(changetype<usize>(pointers), changetype<usize>(buffer));
  const out = new Array<string>();
  for (let i: u32 = 0; i < count; i++) {
    const ptr = <usize>load<u32>(changetype<usize>(pointers) + i * 4);
    let end = ptr;
    while (load<u8>(end) != 0) end++;
    out.push(String.UTF8.decodeUnsafe(ptr, end - ptr));
  }
  return out;
}

const argv = args();
const mode = argv.length > 1 ? argv[1] : "sha256";
const rounds = argv.length > 2 ? I32.parseInt(argv[2]) : 1;
const data = new ArrayBuffer(SIZE);
const base = changetype<usize>(data);
let x: u32 = 2463534242;
for (let i = 0; i < SIZE; i += 4) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  store<u32>(base + <usize>i, x);
}
if (mode == "fnv") {
  let hash: u32 = 2166136261;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < SIZE; i++) hash = (hash ^ load<u8>(base + <usize>i)) * 16777619;
    store<u8>(base + <usize>(r & (SIZE - 1)), <u8>hash);
  }
  print(hex(hash) + "\n");
} else {
  for (let r = 0; r < rounds; r++) {
    unchecked((H[0] = 0x6a09e667));
    unchecked((H[1] = 0xbb67ae85));
    unchecked((H[2] = 0x3c6ef372));
    unchecked((H[3] = 0xa54ff53a));
    unchecked((H[4] = 0x510e527f));
    unchecked((H[5] = 0x9b05688c));
    unchecked((H[6] = 0x1f83d9ab));
    unchecked((H[7] = 0x5be0cd19));
    for (let at = 0; at < SIZE; at += 64) compress(base + <usize>at);
    store<u32>(base, unchecked(H[0]));
  }
  print(hex(unchecked(H[0])) + hex(unchecked(H[7])) + "\n");
}
