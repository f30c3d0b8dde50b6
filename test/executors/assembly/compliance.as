// The WASM executor's compliance fixtures: one WASI command, argv[1] picks the case (see
// test/executors/compliance.ts for what each case must do). AssemblyScript, compiled by the tests.

@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argc: usize, size: usize): u16;
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argv: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "environ_sizes_get")
declare function environ_sizes_get(count: usize, size: usize): u16;
@external("wasi_snapshot_preview1", "environ_get")
declare function environ_get(env: usize, buf: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, len: usize, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, len: usize, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "fd_readdir")
declare function fd_readdir(fd: u32, buf: usize, len: usize, cookie: u64, used: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_get")
declare function fd_prestat_get(fd: u32, buf: usize): u16;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
declare function fd_prestat_dir_name(fd: u32, buf: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(fd: u32, dirflags: u32, path: usize, pathLen: usize, oflags: u16, base: u64, inheriting: u64, fdflags: u16, fdOut: usize): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, time: usize): u16;
@external("wasi_snapshot_preview1", "sock_send")
declare function sock_send(fd: u32, iovs: usize, len: usize, flags: u16, sent: usize): u16;
@external("wasi_snapshot_preview1", "sock_accept")
declare function sock_accept(fd: u32, flags: u16, fdOut: usize): u16;

const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const OFLAGS_CREAT_TRUNC: u16 = 1 | 8;
const FILETYPE_REGULAR_FILE: u8 = 4;
const scratch = memory.data(64);

function writeAll(fd: u32, ptr: usize, len: usize): void {
  while (len > 0) {
    store<u32>(scratch, <u32>ptr);
    store<u32>(scratch + 4, <u32>len);
    if (fd_write(fd, scratch, 1, scratch + 8) != 0) unreachable();
    const written = <usize>load<u32>(scratch + 8);
    ptr += written;
    len -= written;
  }
}

function print(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text);
  writeAll(fd, changetype<usize>(bytes), bytes.byteLength);
}

function strlen(ptr: usize): usize {
  let end = ptr;
  while (load<u8>(end) != 0) end++;
  return end - ptr;
}

function strings(sizes: (a: usize, b: usize) => u16, get: (a: usize, b: usize) => u16): string[] {
  sizes(scratch, scratch + 4);
  const count = load<u32>(scratch);
  const pointers = new ArrayBuffer(<i32>count * 4 + 4);
  const buffer = new ArrayBuffer(<i32>load<u32>(scratch + 4) + 1);
  get(changetype<usize>(pointers), changetype<usize>(buffer));
  const out = new Array<string>();
  for (let i: u32 = 0; i < count; i++) {
    const ptr = <usize>load<u32>(changetype<usize>(pointers) + i * 4);
    out.push(String.UTF8.decodeUnsafe(ptr, strlen(ptr)));
  }
  return out;
}

function env(name: string): string {
  const all = strings(environ_sizes_get, environ_get);
  for (let i = 0; i < all.length; i++) {
    if (all[i].startsWith(name + "=")) return all[i].substring(name.length + 1);
  }
  return "";
}

function preopen(name: string): u32 {
  for (let fd: u32 = 3; fd < 32; fd++) {
    if (fd_prestat_get(fd, scratch) != 0) continue;
    const length = load<u32>(scratch + 4);
    const buffer = new ArrayBuffer(<i32>length);
    fd_prestat_dir_name(fd, changetype<usize>(buffer), length);
    if (String.UTF8.decode(buffer) == name) return fd;
  }
  print(2, "no preopen " + name + "\n");
  proc_exit(2);
  return 0;
}

function open(dir: u32, name: ArrayBuffer, oflags: u16, rights: u64): u32 {
  const err = path_open(dir, 0, changetype<usize>(name), name.byteLength, oflags, rights, 0, 0, scratch);
  if (err != 0) {
    print(2, "path_open: errno " + err.toString() + "\n");
    proc_exit(3);
  }
  return load<u32>(scratch);
}

function copyFile(from: u32, to: u32, name: ArrayBuffer): void {
  const input = open(from, name, 0, RIGHT_FD_READ);
  const output = open(to, name, OFLAGS_CREAT_TRUNC, RIGHT_FD_READ | RIGHT_FD_WRITE);
  const chunk = new ArrayBuffer(65536);
  for (;;) {
    store<u32>(scratch + 16, <u32>changetype<usize>(chunk));
    store<u32>(scratch + 20, 65536);
    if (fd_read(input, scratch + 16, 1, scratch + 24) != 0) unreachable();
    const n = <usize>load<u32>(scratch + 24);
    if (n == 0) break;
    writeAll(output, changetype<usize>(chunk), n);
  }
  fd_close(input);
  fd_close(output);
}

// Every regular file directly in /inputs, into /outputs.
function copyInputs(): void {
  const inputs = preopen("/inputs");
  const outputs = preopen("/outputs");
  const size = 65536;
  const listing = new ArrayBuffer(size);
  const base = changetype<usize>(listing);
  let cookie: u64 = 0;
  for (;;) {
    if (fd_readdir(inputs, base, size, cookie, scratch + 32) != 0) unreachable();
    const used = <usize>load<u32>(scratch + 32);
    let at: usize = 0;
    let complete = true;
    while (at + 24 <= used) {
      const next = load<u64>(base + at);
      const length = <usize>load<u32>(base + at + 16);
      const type = load<u8>(base + at + 20);
      if (at + 24 + length > used) {
        complete = false;
        break;
      }
      if (type == FILETYPE_REGULAR_FILE) {
        const name = new ArrayBuffer(<i32>length);
        memory.copy(changetype<usize>(name), base + at + 24, length);
        copyFile(inputs, outputs, name);
      }
      cookie = next;
      at += 24 + length;
    }
    if (used < <usize>size && complete) break;
  }
}

function tryNetwork(): void {
  let reachable = false;
  for (let fd: u32 = 0; fd < 8; fd++) {
    store<u32>(scratch, <u32>scratch);
    store<u32>(scratch + 4, 1);
    if (sock_send(fd, scratch, 1, 0, scratch + 8) == 0) reachable = true;
    if (sock_accept(fd, 0, scratch + 8) == 0) reachable = true;
  }
  print(1, reachable ? "network: reachable\n" : "network: unreachable\n");
  if (reachable) proc_exit(1);
}

function hex(buffer: ArrayBuffer): string {
  const digits = "0123456789abcdef";
  let out = "";
  const bytes = Uint8Array.wrap(buffer);
  for (let i = 0; i < bytes.length; i++) {
    out += digits.charAt(bytes[i] >> 4) + digits.charAt(bytes[i] & 15);
  }
  return out;
}

function deterministic(message: string): void {
  const random = new ArrayBuffer(16);
  random_get(changetype<usize>(random), 16);
  clock_time_get(0, 1, scratch + 40);
  print(1, message + "\n" + hex(random) + "\n" + load<u64>(scratch + 40).toString() + "\n");
}

function main(): void {
  const args = strings(args_sizes_get, args_get);
  const mode = args.length > 1 ? args[1] : "";
  const value = args.length > 2 ? args[2] : "";
  if (mode == "echo") {
    print(1, "arg: " + value + "\nenv: " + env("MESSAGE") + "\n");
  } else if (mode == "exit") {
    proc_exit(<u32>I32.parseInt(value));
  } else if (mode == "stderr") {
    print(2, value + "\n");
  } else if (mode == "copy") {
    copyInputs();
  } else if (mode == "network") {
    tryNetwork();
  } else if (mode == "sleep") {
    for (;;) store<u32>(scratch + 48, load<u32>(scratch + 48) + 1);
  } else if (mode == "memory") {
    const chunks = new Array<ArrayBuffer>();
    for (;;) {
      const chunk = new ArrayBuffer(1 << 20);
      store<u8>(changetype<usize>(chunk), 1);
      chunks.push(chunk);
    }
  } else if (mode == "flood") {
    const line = String.UTF8.encode("y".repeat(1023) + "\n");
    for (;;) writeAll(1, changetype<usize>(line), line.byteLength);
  } else if (mode == "deterministic") {
    deterministic(value);
  } else {
    print(2, "unknown mode " + mode + "\n");
    proc_exit(64);
  }
}

main();
