/**
 * The module's files: WASI preview1 descriptors 3 and up, over the preopened folders (`/inputs`
 * read-only at fd 3, `/outputs` writable at fd 4). Written here rather than left to node:wasi (uvwasi),
 * because a job must see the same thing on every machine and must not leave its folders:
 *
 * - Paths are resolved lexically below the preopen: absolute paths and `..` past its root are refused
 *   with ENOTCAPABLE; symbolic links are never followed (ELOOP) and cannot be created (ENOTSUP).
 * - Metadata is fixed: timestamps are the job's fixed time, inodes a hash of the path, folder sizes 0,
 *   and folder listings sorted by name (`.` and `..` first).
 * - Writes under `/outputs` are counted against the file-bytes limit: bytes written, holes made by
 *   seeking past the end, growth by `set_size`/`allocate`, and 4 KiB for each file or folder created.
 *   The write that crosses the limit is cut there and the module stopped (FileLimitReached).
 * - Host descriptors are recorded in a shared registry, so the parent can close them if it has to
 *   terminate the worker; at most HOST_FD_SLOTS files are open at once (EMFILE past that).
 *
 * This file may import only Node built-ins (see worker.ts).
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** How many host descriptors a job may hold open: the size of the shared registry. */
export const HOST_FD_SLOTS = 64;
/** What creating a file or a folder costs against the file-bytes limit. */
export const CREATE_COST_BYTES = 4096;

export const ERRNO = {
  SUCCESS: 0,
  ACCES: 2,
  BADF: 8,
  BUSY: 10,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSUP: 58,
  PERM: 63,
  ROFS: 69,
  SPIPE: 70,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;

const NODE_ERRNO: Record<string, number> = {
  EACCES: ERRNO.ACCES,
  EBADF: ERRNO.BADF,
  EBUSY: ERRNO.BUSY,
  EEXIST: ERRNO.EXIST,
  EFBIG: ERRNO.FBIG,
  EINVAL: ERRNO.INVAL,
  EISDIR: ERRNO.ISDIR,
  ELOOP: ERRNO.LOOP,
  EMFILE: ERRNO.MFILE,
  ENAMETOOLONG: ERRNO.NAMETOOLONG,
  ENOENT: ERRNO.NOENT,
  ENOSPC: ERRNO.NOSPC,
  ENOTDIR: ERRNO.NOTDIR,
  ENOTEMPTY: ERRNO.NOTEMPTY,
  EPERM: ERRNO.PERM,
  EROFS: ERRNO.ROFS,
  EXDEV: ERRNO.XDEV,
};

export const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SYMBOLIC_LINK: 7 };

const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 };
const FDFLAGS_APPEND = 1;
const WHENCE = { SET: 0, CUR: 1, END: 2 };

/** Rights bits (WASI preview1), as far as fdstat reports them. */
const RIGHT = {
  FD_READ: 1n << 1n,
  FD_WRITE: 1n << 6n,
};
const ALL_RIGHTS = (1n << 30n) - 1n;
// Everything but writing, allocating, resizing, creating, renaming, linking and removing.
const READ_ONLY_RIGHTS =
  ALL_RIGHTS &
  ~(
    (1n << 0n) | // fd_datasync
    (1n << 6n) | // fd_write
    (1n << 8n) | // fd_allocate
    (1n << 9n) | // path_create_directory
    (1n << 10n) | // path_create_file
    (1n << 11n) | // path_link_source
    (1n << 12n) | // path_link_target
    (1n << 16n) | // path_rename_source
    (1n << 17n) | // path_rename_target
    (1n << 19n) | // path_filestat_set_size
    (1n << 22n) | // fd_filestat_set_size
    (1n << 24n) | // path_symlink
    (1n << 25n) | // path_remove_directory
    (1n << 26n) // path_unlink_file
  );

/** A folder the module sees at `guestPath`; `hostPath` undefined is an empty read-only folder. */
export type Preopen = { guestPath: string; hostPath: string | undefined; writable: boolean };

/** Thrown out of a host function to stop the module at the file-bytes limit. */
export class FileLimitReached extends Error {
  override name = 'FileLimitReached';
}

type Handle = {
  preopen: Preopen;
  /** Path components below the preopen's root. */
  parts: string[];
  kind: 'dir' | 'file';
  hostFd: number | undefined;
  position: number;
  writable: boolean;
  append: boolean;
  rightsBase: bigint;
  rightsInheriting: bigint;
  isPreopen: boolean;
};

class Errno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

function fail(errno: number): never {
  throw new Errno(errno);
}

/** FNV-1a, 64 bits, never 0: a stable inode number for a path. */
function inode(path: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const b of Buffer.from(path, 'utf8')) {
    hash ^= BigInt(b);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash | 1n;
}

function filetype(stats: Stats | { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }) {
  if (stats.isDirectory()) return FILETYPE.DIRECTORY;
  if (stats.isFile()) return FILETYPE.REGULAR_FILE;
  if (stats.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  return FILETYPE.UNKNOWN;
}

const compareNames = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export type WasiFilesOptions = {
  preopens: Preopen[];
  /** Bytes the module may write to files, in total. */
  fileBytes: number;
  fixedTimeNs: bigint;
  /** HOST_FD_SLOTS slots, -1 when free, shared with the parent. */
  hostFds: Int32Array;
  memory: () => ArrayBuffer;
};

export class WasiFiles {
  readonly #options: WasiFilesOptions;
  readonly #handles = new Map<number, Handle>();
  #fileBytesUsed = 0;

  constructor(options: WasiFilesOptions) {
    this.#options = options;
    options.preopens.forEach((preopen, i) => {
      this.#handles.set(3 + i, {
        preopen,
        parts: [],
        kind: 'dir',
        hostFd: undefined,
        position: 0,
        writable: false,
        append: false,
        rightsBase: preopen.writable ? ALL_RIGHTS : READ_ONLY_RIGHTS,
        rightsInheriting: preopen.writable ? ALL_RIGHTS : READ_ONLY_RIGHTS,
        isPreopen: true,
      });
    });
  }

  /** Bytes counted against the file-bytes limit so far. */
  get fileBytesUsed(): number {
    return this.#fileBytesUsed;
  }

  /** Closes every host descriptor the module left open. */
  closeAll(): void {
    for (const [fd, handle] of this.#handles) {
      if (handle.hostFd !== undefined) this.#closeHost(handle.hostFd);
      this.#handles.delete(fd);
    }
  }

  // --- plumbing ---------------------------------------------------------------------------------

  #view(): DataView {
    return new DataView(this.#options.memory());
  }

  #bytes(ptr: number, length: number): Uint8Array {
    const buffer = this.#options.memory();
    if (ptr < 0 || length < 0 || ptr + length > buffer.byteLength) fail(ERRNO.FAULT);
    return new Uint8Array(buffer, ptr, length);
  }

  #string(ptr: number, length: number): string {
    const bytes = this.#bytes(ptr >>> 0, length >>> 0);
    const text = Buffer.from(bytes).toString('utf8');
    if (text.includes('\0') || !Buffer.from(text, 'utf8').equals(bytes)) fail(ERRNO.INVAL);
    return text;
  }

  /** Runs a WASI function body: Errno becomes its errno, Node errors their WASI errno. */
  #call(body: () => number | undefined): number {
    try {
      return body() ?? ERRNO.SUCCESS;
    } catch (error) {
      if (error instanceof Errno) return error.errno;
      if (error instanceof FileLimitReached) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code && code in NODE_ERRNO) return NODE_ERRNO[code] as number;
      return ERRNO.IO;
    }
  }

  #handle(fd: number): Handle {
    const handle = this.#handles.get(fd);
    if (!handle) fail(ERRNO.BADF);
    return handle;
  }

  #file(fd: number): Handle & { hostFd: number } {
    const handle = this.#handle(fd);
    if (handle.kind !== 'file' || handle.hostFd === undefined) fail(ERRNO.ISDIR);
    return handle as Handle & { hostFd: number };
  }

  #dir(fd: number): Handle {
    const handle = this.#handle(fd);
    if (handle.kind !== 'dir') fail(ERRNO.NOTDIR);
    return handle;
  }

  #hostPath(preopen: Preopen, parts: string[]): string | undefined {
    return preopen.hostPath === undefined ? undefined : join(preopen.hostPath, ...parts);
  }

  /** Host lstat of a path below a preopen, undefined when it does not exist. */
  #lstat(preopen: Preopen, parts: string[]): Stats | undefined {
    const path = this.#hostPath(preopen, parts);
    if (path === undefined) return parts.length === 0 ? lstatEmptyFolder : undefined;
    return lstatSync(path, { throwIfNoEntry: false });
  }

  /**
   * `path` relative to the folder `dirFd`, lexically: absolute paths and `..` past the preopen's
   * root are ENOTCAPABLE; a symbolic link on the way (or at the end) is ELOOP.
   */
  #resolve(dirFd: number, pathPtr: number, pathLength: number): { preopen: Preopen; parts: string[] } {
    const dir = this.#dir(dirFd);
    const path = this.#string(pathPtr, pathLength);
    if (path === '') fail(ERRNO.NOENT);
    if (path.startsWith('/')) fail(ERRNO.NOTCAPABLE);
    const parts = [...dir.parts];
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (parts.length === 0) fail(ERRNO.NOTCAPABLE);
        parts.pop();
      } else {
        parts.push(part);
      }
    }
    for (let depth = 1; depth <= parts.length; depth++) {
      const stats = this.#lstat(dir.preopen, parts.slice(0, depth));
      if (!stats) break;
      if (stats.isSymbolicLink()) fail(ERRNO.LOOP);
    }
    return { preopen: dir.preopen, parts };
  }

  #writableTarget(target: { preopen: Preopen }): void {
    if (!target.preopen.writable) fail(ERRNO.ROFS);
  }

  /** Counts `bytes` against the limit; returns how many fit (the caller stops the module if short). */
  #charge(bytes: number): number {
    const left = Math.max(0, this.#options.fileBytes - this.#fileBytesUsed);
    const allowed = Math.min(bytes, left);
    this.#fileBytesUsed += allowed;
    return allowed;
  }

  #chargeAll(bytes: number): void {
    if (this.#charge(bytes) < bytes) throw new FileLimitReached('file bytes limit reached');
  }

  #openHost(path: string, flags: number): number {
    const slots = this.#options.hostFds;
    const slot = slots.indexOf(-1);
    if (slot === -1) fail(ERRNO.MFILE);
    const fd = openSync(path, flags | constants.O_NOFOLLOW);
    Atomics.store(slots, slot, fd);
    return fd;
  }

  #closeHost(fd: number): void {
    const slots = this.#options.hostFds;
    const slot = slots.indexOf(fd);
    if (slot !== -1) Atomics.store(slots, slot, -1);
    closeSync(fd);
  }

  #newFd(handle: Handle): number {
    let fd = 3;
    while (this.#handles.has(fd)) fd++;
    this.#handles.set(fd, handle);
    return fd;
  }

  #writeFilestat(ptr: number, handle: { preopen: Preopen; parts: string[] }, stats: Stats): void {
    const dv = this.#view();
    this.#bytes(ptr, 64).fill(0);
    const type = filetype(stats);
    const guestPath = [handle.preopen.guestPath, ...handle.parts].join('/');
    dv.setBigUint64(ptr, BigInt(this.#options.preopens.indexOf(handle.preopen) + 1), true);
    dv.setBigUint64(ptr + 8, inode(guestPath), true);
    dv.setUint8(ptr + 16, type);
    dv.setBigUint64(ptr + 24, 1n, true);
    dv.setBigUint64(ptr + 32, type === FILETYPE.REGULAR_FILE ? BigInt(stats.size) : 0n, true);
    for (const at of [40, 48, 56]) dv.setBigUint64(ptr + at, this.#options.fixedTimeNs, true);
  }

  /** Reads iovecs into the file at `at` (or its position). */
  #read(handle: Handle & { hostFd: number }, iovs: number, iovsLength: number, at: number): number {
    const dv = this.#view();
    this.#bytes(iovs, iovsLength * 8);
    let total = 0;
    for (let i = 0; i < iovsLength; i++) {
      const ptr = dv.getUint32(iovs + i * 8, true);
      const length = dv.getUint32(iovs + i * 8 + 4, true);
      const target = this.#bytes(ptr, length);
      const n = length === 0 ? 0 : readSync(handle.hostFd, target, 0, length, at + total);
      total += n;
      if (n < length) break;
    }
    return total;
  }

  /** Writes iovecs at `at`, charging bytes and any hole; cuts at the limit. */
  #write(handle: Handle & { hostFd: number }, iovs: number, iovsLength: number, at: number): number {
    const dv = this.#view();
    this.#bytes(iovs, iovsLength * 8);
    const size = fstatSync(handle.hostFd).size;
    if (at > size) this.#chargeAll(at - size);
    let total = 0;
    for (let i = 0; i < iovsLength; i++) {
      const ptr = dv.getUint32(iovs + i * 8, true);
      const length = dv.getUint32(iovs + i * 8 + 4, true);
      const source = this.#bytes(ptr, length);
      const allowed = this.#charge(length);
      for (let done = 0; done < allowed; ) {
        done += writeSync(handle.hostFd, source, done, allowed - done, at + total + done);
      }
      total += allowed;
      if (allowed < length) throw new FileLimitReached('file bytes limit reached');
    }
    return total;
  }

  /** Grows the file to `size` when it is smaller, charging the growth. */
  #grow(handle: Handle & { hostFd: number }, size: number): void {
    const current = fstatSync(handle.hostFd).size;
    if (size > current) this.#chargeAll(size - current);
    ftruncateSync(handle.hostFd, Math.max(size, 0));
  }

  // --- WASI functions on descriptors 3 and up ----------------------------------------------------

  fd_prestat_get(fd: number, ptr: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      if (!handle.isPreopen) fail(ERRNO.BADF);
      const dv = this.#view();
      this.#bytes(ptr >>> 0, 8);
      dv.setUint32(ptr >>> 0, 0, true);
      dv.setUint32((ptr >>> 0) + 4, Buffer.byteLength(handle.preopen.guestPath), true);
      return ERRNO.SUCCESS;
    });
  }

  fd_prestat_dir_name(fd: number, ptr: number, length: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      if (!handle.isPreopen) fail(ERRNO.BADF);
      const name = Buffer.from(handle.preopen.guestPath);
      if (length >>> 0 < name.length) fail(ERRNO.NAMETOOLONG);
      this.#bytes(ptr >>> 0, name.length).set(name);
      return ERRNO.SUCCESS;
    });
  }

  fd_fdstat_get(fd: number, ptr: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      const at = ptr >>> 0;
      this.#bytes(at, 24).fill(0);
      const dv = this.#view();
      dv.setUint8(at, handle.kind === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE);
      dv.setUint16(at + 2, handle.append ? FDFLAGS_APPEND : 0, true);
      dv.setBigUint64(at + 8, handle.rightsBase, true);
      dv.setBigUint64(at + 16, handle.rightsInheriting, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_fdstat_set_flags(fd: number, flags: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      if (handle.kind === 'file') handle.append = (flags & FDFLAGS_APPEND) !== 0 && handle.writable;
      return ERRNO.SUCCESS;
    });
  }

  fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      if ((base & ~handle.rightsBase) !== 0n || (inheriting & ~handle.rightsInheriting) !== 0n)
        fail(ERRNO.NOTCAPABLE);
      handle.rightsBase = base;
      handle.rightsInheriting = inheriting;
      return ERRNO.SUCCESS;
    });
  }

  fd_filestat_get(fd: number, ptr: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      const stats =
        handle.hostFd === undefined ? this.#lstat(handle.preopen, handle.parts) : fstatSync(handle.hostFd);
      if (!stats) fail(ERRNO.NOENT);
      this.#writeFilestat(ptr >>> 0, handle, stats);
      return ERRNO.SUCCESS;
    });
  }

  fd_filestat_set_size(fd: number, size: bigint): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      if (!handle.writable) fail(ERRNO.BADF);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.FBIG);
      this.#grow(handle, Number(size));
      return ERRNO.SUCCESS;
    });
  }

  fd_allocate(fd: number, offset: bigint, length: bigint): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      if (!handle.writable) fail(ERRNO.BADF);
      const end = offset + length;
      if (end > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.FBIG);
      if (Number(end) > fstatSync(handle.hostFd).size) this.#grow(handle, Number(end));
      return ERRNO.SUCCESS;
    });
  }

  /** Times are fixed: setting them succeeds and changes nothing the module can see. */
  fd_filestat_set_times(fd: number): number {
    return this.#call(() => {
      this.#handle(fd);
      return ERRNO.SUCCESS;
    });
  }

  fd_read(fd: number, iovs: number, iovsLength: number, nreadPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      const n = this.#read(handle, iovs >>> 0, iovsLength >>> 0, handle.position);
      handle.position += n;
      this.#bytes(nreadPtr >>> 0, 4);
      this.#view().setUint32(nreadPtr >>> 0, n, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_pread(fd: number, iovs: number, iovsLength: number, offset: bigint, nreadPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.INVAL);
      const n = this.#read(handle, iovs >>> 0, iovsLength >>> 0, Number(offset));
      this.#bytes(nreadPtr >>> 0, 4);
      this.#view().setUint32(nreadPtr >>> 0, n, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_write(fd: number, iovs: number, iovsLength: number, nwrittenPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      if (!handle.writable) fail(ERRNO.BADF);
      this.#bytes(nwrittenPtr >>> 0, 4);
      if (handle.append) handle.position = fstatSync(handle.hostFd).size;
      const n = this.#write(handle, iovs >>> 0, iovsLength >>> 0, handle.position);
      handle.position += n;
      this.#view().setUint32(nwrittenPtr >>> 0, n, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_pwrite(fd: number, iovs: number, iovsLength: number, offset: bigint, nwrittenPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      if (!handle.writable) fail(ERRNO.BADF);
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.FBIG);
      this.#bytes(nwrittenPtr >>> 0, 4);
      const n = this.#write(handle, iovs >>> 0, iovsLength >>> 0, Number(offset));
      this.#view().setUint32(nwrittenPtr >>> 0, n, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      let base: number;
      if (whence === WHENCE.SET) base = 0;
      else if (whence === WHENCE.CUR) base = handle.position;
      else if (whence === WHENCE.END) base = fstatSync(handle.hostFd).size;
      else fail(ERRNO.INVAL);
      const position = BigInt(base) + offset;
      if (position < 0n || position > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.INVAL);
      this.#bytes(newOffsetPtr >>> 0, 8);
      handle.position = Number(position);
      this.#view().setBigUint64(newOffsetPtr >>> 0, position, true);
      return ERRNO.SUCCESS;
    });
  }

  fd_tell(fd: number, offsetPtr: number): number {
    return this.#call(() => {
      const handle = this.#file(fd);
      this.#bytes(offsetPtr >>> 0, 8);
      this.#view().setBigUint64(offsetPtr >>> 0, BigInt(handle.position), true);
      return ERRNO.SUCCESS;
    });
  }

  fd_close(fd: number): number {
    return this.#call(() => {
      const handle = this.#handle(fd);
      if (handle.hostFd !== undefined) this.#closeHost(handle.hostFd);
      this.#handles.delete(fd);
      return ERRNO.SUCCESS;
    });
  }

  /** Syncing and advice: nothing to do (the files are the host's until the job ends). */
  fd_sync(fd: number): number {
    return this.#call(() => {
      this.#handle(fd);
      return ERRNO.SUCCESS;
    });
  }

  fd_renumber(from: number, to: number): number {
    return this.#call(() => {
      const handle = this.#handle(from);
      const replaced = this.#handle(to);
      if (from === to) return ERRNO.SUCCESS;
      if (replaced.hostFd !== undefined) this.#closeHost(replaced.hostFd);
      this.#handles.set(to, handle);
      this.#handles.delete(from);
      return ERRNO.SUCCESS;
    });
  }

  fd_readdir(fd: number, bufArg: number, bufLength: number, cookie: bigint, bufusedPtr: number): number {
    return this.#call(() => {
      const dir = this.#dir(fd);
      const buf = bufArg >>> 0;
      const length = bufLength >>> 0;
      const target = this.#bytes(buf, length);
      this.#bytes(bufusedPtr >>> 0, 4);
      const hostPath = this.#hostPath(dir.preopen, dir.parts);
      const listed =
        hostPath === undefined
          ? []
          : readdirSync(hostPath, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name));
      const entries = [
        { name: '.', type: FILETYPE.DIRECTORY, parts: dir.parts },
        { name: '..', type: FILETYPE.DIRECTORY, parts: dir.parts.slice(0, -1) },
        ...listed.map((entry) => ({
          name: entry.name,
          type: filetype(entry),
          parts: [...dir.parts, entry.name],
        })),
      ];
      let used = 0;
      for (let i = Number(cookie); i < entries.length && used < length; i++) {
        const entry = entries[i] as (typeof entries)[number];
        const name = Buffer.from(entry.name);
        const record = new Uint8Array(24 + name.length);
        const dv = new DataView(record.buffer);
        dv.setBigUint64(0, BigInt(i + 1), true);
        dv.setBigUint64(8, inode([dir.preopen.guestPath, ...entry.parts].join('/')), true);
        dv.setUint32(16, name.length, true);
        dv.setUint8(20, entry.type);
        record.set(name, 24);
        const fits = Math.min(record.length, length - used);
        target.set(record.subarray(0, fits), used);
        used += fits;
      }
      this.#view().setUint32(bufusedPtr >>> 0, used, true);
      return ERRNO.SUCCESS;
    });
  }

  path_open(
    dirFd: number,
    _lookupFlags: number,
    pathPtr: number,
    pathLength: number,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
    fdPtr: number,
  ): number {
    return this.#call(() => {
      const parent = this.#dir(dirFd);
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      this.#bytes(fdPtr >>> 0, 4);
      const append = (fdflags & FDFLAGS_APPEND) !== 0;
      const wantsWrite = (rightsBase & RIGHT.FD_WRITE) !== 0n || append;
      if ((oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0 || wantsWrite) this.#writableTarget(target);
      const stats = this.#lstat(target.preopen, target.parts);
      const handle: Handle = {
        preopen: target.preopen,
        parts: target.parts,
        kind: 'file',
        hostFd: undefined,
        position: 0,
        writable: wantsWrite,
        append,
        rightsBase: rightsBase & parent.rightsInheriting,
        rightsInheriting: rightsInheriting & parent.rightsInheriting,
        isPreopen: false,
      };
      const hostPath = this.#hostPath(target.preopen, target.parts);
      if (stats) {
        if (oflags & OFLAGS.CREAT && oflags & OFLAGS.EXCL) fail(ERRNO.EXIST);
        if (stats.isDirectory()) {
          if (oflags & OFLAGS.TRUNC || wantsWrite) fail(ERRNO.ISDIR);
          handle.kind = 'dir';
          handle.writable = false;
        } else if (stats.isFile()) {
          if (oflags & OFLAGS.DIRECTORY) fail(ERRNO.NOTDIR);
          const flags =
            (wantsWrite ? constants.O_RDWR : constants.O_RDONLY) |
            (oflags & OFLAGS.TRUNC ? constants.O_TRUNC : 0);
          handle.hostFd = this.#openHost(hostPath as string, flags);
        } else {
          fail(ERRNO.NOTSUP); // devices, pipes, sockets
        }
      } else {
        if (!(oflags & OFLAGS.CREAT) || hostPath === undefined) fail(ERRNO.NOENT);
        if (oflags & OFLAGS.DIRECTORY) fail(ERRNO.INVAL);
        const parentStats = this.#lstat(target.preopen, target.parts.slice(0, -1));
        if (!parentStats) fail(ERRNO.NOENT);
        if (!parentStats.isDirectory()) fail(ERRNO.NOTDIR);
        this.#chargeAll(CREATE_COST_BYTES);
        handle.writable = true; // a created file is written, whatever the rights say
        handle.hostFd = this.#openHost(hostPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL);
      }
      this.#view().setUint32(fdPtr >>> 0, this.#newFd(handle), true);
      return ERRNO.SUCCESS;
    });
  }

  path_filestat_get(dirFd: number, _flags: number, pathPtr: number, pathLength: number, ptr: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      const stats = this.#lstat(target.preopen, target.parts);
      if (!stats) fail(ERRNO.NOENT);
      this.#writeFilestat(ptr >>> 0, target, stats);
      return ERRNO.SUCCESS;
    });
  }

  path_filestat_set_times(dirFd: number, _flags: number, pathPtr: number, pathLength: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      if (!this.#lstat(target.preopen, target.parts)) fail(ERRNO.NOENT);
      return ERRNO.SUCCESS;
    });
  }

  path_create_directory(dirFd: number, pathPtr: number, pathLength: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      this.#writableTarget(target);
      if (this.#lstat(target.preopen, target.parts)) fail(ERRNO.EXIST);
      this.#chargeAll(CREATE_COST_BYTES);
      mkdirSync(this.#hostPath(target.preopen, target.parts) as string);
      return ERRNO.SUCCESS;
    });
  }

  path_remove_directory(dirFd: number, pathPtr: number, pathLength: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      this.#writableTarget(target);
      if (target.parts.length === 0) fail(ERRNO.BUSY);
      rmdirSync(this.#hostPath(target.preopen, target.parts) as string);
      return ERRNO.SUCCESS;
    });
  }

  path_unlink_file(dirFd: number, pathPtr: number, pathLength: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      this.#writableTarget(target);
      const stats = this.#lstat(target.preopen, target.parts);
      if (!stats) fail(ERRNO.NOENT);
      if (stats.isDirectory()) fail(ERRNO.ISDIR);
      unlinkSync(this.#hostPath(target.preopen, target.parts) as string);
      return ERRNO.SUCCESS;
    });
  }

  path_rename(
    fromFd: number,
    fromPtr: number,
    fromLength: number,
    toFd: number,
    toPtr: number,
    toLength: number,
  ): number {
    return this.#call(() => {
      const from = this.#resolve(fromFd, fromPtr >>> 0, fromLength >>> 0);
      const to = this.#resolve(toFd, toPtr >>> 0, toLength >>> 0);
      if (from.preopen !== to.preopen) fail(ERRNO.XDEV);
      this.#writableTarget(from);
      if (from.parts.length === 0 || to.parts.length === 0) fail(ERRNO.BUSY);
      renameSync(
        this.#hostPath(from.preopen, from.parts) as string,
        this.#hostPath(to.preopen, to.parts) as string,
      );
      return ERRNO.SUCCESS;
    });
  }

  /** Links would let a module reach (or hand the next reader) a path outside its folders. */
  path_readlink(dirFd: number, pathPtr: number, pathLength: number): number {
    return this.#call(() => {
      const target = this.#resolve(dirFd, pathPtr >>> 0, pathLength >>> 0);
      if (!this.#lstat(target.preopen, target.parts)) fail(ERRNO.NOENT);
      return ERRNO.INVAL; // not a symbolic link: #resolve refused those
    });
  }
}

/** What lstat says about the root of a preopen with no host folder. */
const lstatEmptyFolder = {
  isDirectory: () => true,
  isFile: () => false,
  isSymbolicLink: () => false,
  size: 0,
} as unknown as Stats;
