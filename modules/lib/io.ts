// What a built-in module does with the outside world: its arguments, stdout and stderr, and whole
// files under the preopened folders (/inputs read-only, /outputs writable).
import {
  args_get,
  args_sizes_get,
  fd_close,
  fd_prestat_dir_name,
  fd_prestat_get,
  fd_read,
  fd_write,
  path_open,
  proc_exit,
} from './wasi_snapshot_preview1';

const STDOUT: u32 = 1;
const STDERR: u32 = 2;
const OFLAGS_CREAT: u16 = 1;
const OFLAGS_TRUNC: u16 = 8;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const READ_CHUNK = 65536;

/** argv after argv[0] (the module's name), decoded from UTF-8. */
export function commandArgs(): string[] {
  const out: string[] = [];
  const sizes = new ArrayBuffer(8);
  const sizesPtr = changetype<usize>(sizes);
  if (args_sizes_get(sizesPtr, sizesPtr + 4) !== 0) return out;
  const argc = load<u32>(sizesPtr);
  const argv = new ArrayBuffer(<i32>(argc * 4 + 4));
  const buf = new ArrayBuffer(<i32>(load<u32>(sizesPtr + 4) + 1));
  const argvPtr = changetype<usize>(argv);
  if (args_get(argvPtr, changetype<usize>(buf)) !== 0) return out;
  for (let i: u32 = 1; i < argc; i++) {
    const start = load<usize>(argvPtr + ((<usize>i) << 2));
    let end = start;
    while (load<u8>(end) !== 0) end++;
    out.push(String.UTF8.decodeUnsafe(start, end - start));
  }
  return out;
}

/** Writes all bytes, continuing after short writes; false when the host refuses. */
export function writeAll(fd: u32, data: Uint8Array): bool {
  const iov = new ArrayBuffer(12);
  const iovPtr = changetype<usize>(iov);
  const base = data.dataStart;
  let offset: usize = 0;
  const total = <usize>data.length;
  while (offset < total) {
    store<usize>(iovPtr, base + offset);
    store<usize>(iovPtr + 4, total - offset);
    if (fd_write(fd, iovPtr, 1, iovPtr + 8) !== 0) return false;
    const written = load<usize>(iovPtr + 8);
    if (written === 0) return false;
    offset += written;
  }
  return true;
}

function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}

/** Prints text on stdout. */
export function print(text: string): void {
  if (!writeAll(STDOUT, utf8(text))) proc_exit(1);
}

/** Reports `<module>: <message>` on stderr and exits with code 1. */
export function fail(message: string): void {
  writeAll(STDERR, utf8(`${message}\n`));
  proc_exit(1);
}

// The preopened folder holding `path` ("/inputs/x.png" → the fd of "/inputs") and the rest of the path.
class Located {
  constructor(
    public fd: u32,
    public relative: string,
  ) {}
}

function locate(path: string): Located | null {
  const prestat = new ArrayBuffer(8);
  const prestatPtr = changetype<usize>(prestat);
  for (let fd: u32 = 3; fd_prestat_get(fd, prestatPtr) === 0; fd++) {
    const length = load<u32>(prestatPtr + 4);
    const name = new ArrayBuffer(<i32>length);
    if (fd_prestat_dir_name(fd, changetype<usize>(name), length) !== 0) continue;
    const folder = String.UTF8.decode(name);
    if (path.startsWith(`${folder}/`)) return new Located(fd, path.slice(folder.length + 1));
  }
  return null;
}

function open(path: string, openFlags: u16, rights: u64): i32 {
  const where = locate(path);
  if (where === null) return -1;
  const name = String.UTF8.encode(where.relative);
  const fdOut = new ArrayBuffer(4);
  const errno = path_open(
    where.fd,
    0,
    changetype<usize>(name),
    <usize>name.byteLength,
    openFlags,
    rights,
    0,
    0,
    changetype<usize>(fdOut),
  );
  return errno === 0 ? load<i32>(changetype<usize>(fdOut)) : -1;
}

/** The whole file at an absolute path under a preopened folder; null when it cannot be read. */
export function readFile(path: string): Uint8Array | null {
  const fd = open(path, 0, RIGHT_FD_READ);
  if (fd < 0) return null;
  let data = new Uint8Array(READ_CHUNK);
  let length = 0;
  const iov = new ArrayBuffer(12);
  const iovPtr = changetype<usize>(iov);
  while (true) {
    if (length === data.length) {
      const bigger = new Uint8Array(data.length * 2);
      bigger.set(data);
      data = bigger;
    }
    store<usize>(iovPtr, data.dataStart + <usize>length);
    store<usize>(iovPtr + 4, <usize>(data.length - length));
    if (fd_read(<u32>fd, iovPtr, 1, iovPtr + 8) !== 0) {
      fd_close(<u32>fd);
      return null;
    }
    const read = load<u32>(iovPtr + 8);
    if (read === 0) break;
    length += <i32>read;
  }
  fd_close(<u32>fd);
  return data.slice(0, length);
}

/** Creates or replaces the file at an absolute path under a writable preopened folder. */
export function writeFile(path: string, data: Uint8Array): bool {
  const fd = open(path, OFLAGS_CREAT | OFLAGS_TRUNC, RIGHT_FD_WRITE);
  if (fd < 0) return false;
  const ok = writeAll(<u32>fd, data);
  return fd_close(<u32>fd) === 0 && ok;
}

/** A file input's path, as the executor passes it (`/inputs/NAME`); fails with `hint` on anything else. */
export function fileInputPath(arg: string, hint: string): string {
  if (!arg.startsWith('/inputs/') || arg.includes('..')) fail(`"${arg}" is not a file input: ${hint}`);
  return arg;
}
