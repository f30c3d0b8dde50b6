/**
 * WASI preview1 for one job, deterministic by construction: clocks return a fixed time, `random_get`
 * is a SHA-256 counter stream keyed by the job's seed, `poll_oneoff` never waits, sockets are ENOSYS,
 * stdin is empty, and stdin/stdout/stderr look like three character devices with fixed metadata that
 * cannot be seeked, resized, closed or renumbered (a sparse multi-GB stdout would dodge the output
 * limit). stdout and stderr go straight into the result bundle's files, cut at the output limit.
 * Descriptors 3 and up are the preopened folders and the files opened under them (wasi-files.ts).
 *
 * Every one of the 46 preview1 functions is provided, so a module that imports only these links.
 *
 * This file may import only Node built-ins and its siblings (see worker.ts).
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { ERRNO, FILETYPE, type Preopen, WasiFiles } from './wasi-files.js';
import type { WasmImports, WasmMemory } from './wasm-api.js';

const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;
const EVENTTYPE_CLOCK = 0;
const RANDOM_DOMAIN = 'lilypad/wasi/random_get/v1';

/** Thrown by `proc_exit`: the module ended with `code`. */
export class ProcExit {
  constructor(readonly code: number) {}
}

/** Thrown out of `fd_write` to stop the module at the output limit; nothing in wasm can catch it. */
export class OutputLimitReached extends Error {
  override name = 'OutputLimitReached';
}

export type WasiOptions = {
  args: string[];
  env: Record<string, string>;
  seed: Uint8Array;
  fixedTimeNs: bigint;
  stdoutFd: number;
  stderrFd: number;
  /** stdout and stderr together. */
  outputLimit: number;
  preopens: Preopen[];
  fileBytes: number;
  /** The shared registry of host descriptors (see wasi-files.ts). */
  hostFds: Int32Array;
  /** Called at the start of every host call (the worker publishes the memory size from it). */
  onHostCall?: () => void;
};

function encodeStrings(strings: string[]): Buffer[] {
  return strings.map((s) => Buffer.from(`${s}\0`, 'utf8'));
}

export class Wasi {
  readonly files: WasiFiles;
  readonly #options: WasiOptions;
  readonly #args: Buffer[];
  readonly #env: Buffer[];
  #memory: WasmMemory | undefined;
  #outputBytes = 0;
  #randomCounter = 0n;
  #randomPool = new Uint8Array(0);

  constructor(options: WasiOptions) {
    this.#options = options;
    this.#args = encodeStrings(options.args);
    this.#env = encodeStrings(Object.entries(options.env).map(([k, v]) => `${k}=${v}`));
    this.files = new WasiFiles({
      preopens: options.preopens,
      fileBytes: options.fileBytes,
      fixedTimeNs: options.fixedTimeNs,
      hostFds: options.hostFds,
      memory: () => this.#buffer(),
    });
  }

  /** Call once the instance exists: every function reads and writes the module's memory through it. */
  attach(memory: WasmMemory): void {
    this.#memory = memory;
  }

  #buffer(): ArrayBuffer {
    if (!this.#memory) throw new Error('WASI called before the module memory was attached');
    return this.#memory.buffer;
  }

  /** True when [ptr, ptr + length) lies inside the module's memory (callers `>>> 0` the i32s). */
  #inBounds(ptr: number, length: number): boolean {
    return ptr >= 0 && length >= 0 && ptr + length <= this.#buffer().byteLength;
  }

  #view(): DataView {
    return new DataView(this.#buffer());
  }

  #sizes(list: Buffer[], countArg: number, sizeArg: number): number {
    const [countPtr, sizePtr] = [countArg >>> 0, sizeArg >>> 0];
    if (!this.#inBounds(countPtr, 4) || !this.#inBounds(sizePtr, 4)) return ERRNO.FAULT;
    const dv = this.#view();
    dv.setUint32(countPtr, list.length, true);
    dv.setUint32(
      sizePtr,
      list.reduce((sum, b) => sum + b.length, 0),
      true,
    );
    return ERRNO.SUCCESS;
  }

  #strings(list: Buffer[], pointersArg: number, bufferArg: number): number {
    const [pointers, buffer] = [pointersArg >>> 0, bufferArg >>> 0];
    const total = list.reduce((sum, b) => sum + b.length, 0);
    if (!this.#inBounds(pointers, list.length * 4) || !this.#inBounds(buffer, total)) return ERRNO.FAULT;
    const dv = this.#view();
    const bytes = new Uint8Array(this.#buffer());
    let at = buffer;
    list.forEach((item, i) => {
      dv.setUint32(pointers + i * 4, at, true);
      bytes.set(item, at);
      at += item.length;
    });
    return ERRNO.SUCCESS;
  }

  #writeOutput(fd: number, iovsArg: number, iovsLenArg: number, nwrittenArg: number): number {
    const [iovs, iovsLen, nwrittenPtr] = [iovsArg >>> 0, iovsLenArg >>> 0, nwrittenArg >>> 0];
    if (!this.#inBounds(iovs, iovsLen * 8) || !this.#inBounds(nwrittenPtr, 4)) return ERRNO.FAULT;
    const target = fd === 1 ? this.#options.stdoutFd : this.#options.stderrFd;
    const dv = this.#view();
    let written = 0;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = dv.getUint32(iovs + i * 8, true);
      const length = dv.getUint32(iovs + i * 8 + 4, true);
      if (!this.#inBounds(ptr, length)) return ERRNO.FAULT;
      const allowed = Math.min(length, this.#options.outputLimit - this.#outputBytes);
      const chunk = new Uint8Array(this.#buffer(), ptr, allowed);
      for (let done = 0; done < allowed; ) done += writeSync(target, chunk, done, allowed - done);
      this.#outputBytes += allowed;
      written += allowed;
      if (allowed < length) throw new OutputLimitReached('output limit reached');
    }
    dv.setUint32(nwrittenPtr, written, true);
    return ERRNO.SUCCESS;
  }

  // random_get: SHA-256(domain ‖ seed ‖ counter) blocks, one continuous stream per run.
  #randomGet(bufArg: number, lengthArg: number): number {
    const [buf, length] = [bufArg >>> 0, lengthArg >>> 0];
    if (!this.#inBounds(buf, length)) return ERRNO.FAULT;
    const target = new Uint8Array(this.#buffer(), buf, length);
    let filled = 0;
    while (filled < length) {
      if (this.#randomPool.length === 0) {
        const counter = Buffer.alloc(8);
        counter.writeBigUInt64BE(this.#randomCounter++);
        this.#randomPool = createHash('sha256')
          .update(RANDOM_DOMAIN)
          .update(this.#options.seed)
          .update(counter)
          .digest();
      }
      const take = Math.min(this.#randomPool.length, length - filled);
      target.set(this.#randomPool.subarray(0, take), filled);
      this.#randomPool = this.#randomPool.subarray(take);
      filled += take;
    }
    return ERRNO.SUCCESS;
  }

  #clock(id: number, valueArg: number, value: bigint): number {
    const ptr = valueArg >>> 0;
    if (id < 0 || id > 3) return ERRNO.INVAL;
    if (!this.#inBounds(ptr, 8)) return ERRNO.FAULT;
    this.#view().setBigUint64(ptr, value, true);
    return ERRNO.SUCCESS;
  }

  // Every subscription fires at once: clocks have "elapsed", descriptors are "ready". No real waiting.
  #pollOneoff(inArg: number, outArg: number, countArg: number, neventsArg: number): number {
    const [inPtr, outPtr, count, neventsPtr] = [inArg >>> 0, outArg >>> 0, countArg >>> 0, neventsArg >>> 0];
    if (count === 0) return ERRNO.INVAL;
    if (
      !this.#inBounds(inPtr, count * 48) ||
      !this.#inBounds(outPtr, count * 32) ||
      !this.#inBounds(neventsPtr, 4)
    )
      return ERRNO.FAULT;
    const dv = this.#view();
    for (let i = 0; i < count; i++) {
      const sub = inPtr + i * 48;
      const event = outPtr + i * 32;
      for (let b = 0; b < 32; b++) dv.setUint8(event + b, 0);
      dv.setBigUint64(event, dv.getBigUint64(sub, true), true);
      dv.setUint16(event + 8, ERRNO.SUCCESS, true);
      const tag = dv.getUint8(sub + 8);
      dv.setUint8(event + 10, tag <= 2 ? tag : EVENTTYPE_CLOCK);
    }
    dv.setUint32(neventsPtr, count, true);
    return ERRNO.SUCCESS;
  }

  #stdioFdstat(fd: number, statArg: number): number {
    const statPtr = statArg >>> 0;
    if (!this.#inBounds(statPtr, 24)) return ERRNO.FAULT;
    const dv = this.#view();
    for (let b = 0; b < 24; b++) dv.setUint8(statPtr + b, 0);
    dv.setUint8(statPtr, FILETYPE.CHARACTER_DEVICE);
    const rights = (fd === 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE;
    dv.setBigUint64(statPtr + 8, rights, true);
    return ERRNO.SUCCESS;
  }

  #stdioFilestat(statArg: number): number {
    const statPtr = statArg >>> 0;
    if (!this.#inBounds(statPtr, 64)) return ERRNO.FAULT;
    const dv = this.#view();
    for (let b = 0; b < 64; b++) dv.setUint8(statPtr + b, 0);
    dv.setUint8(statPtr + 16, FILETYPE.CHARACTER_DEVICE);
    dv.setBigUint64(statPtr + 24, 1n, true); // nlink
    for (const at of [40, 48, 56]) dv.setBigUint64(statPtr + at, this.#options.fixedTimeNs, true);
    return ERRNO.SUCCESS;
  }

  /** The import object: `{ wasi_snapshot_preview1: { …46 functions } }`. */
  imports(): WasmImports {
    const files = this.files;
    const stdio = (fd: number) => fd >= 0 && fd <= 2;
    /** A descriptor function: on stdio it answers `errno`, otherwise the files do. */
    const onFd =
      <A extends unknown[]>(errno: number, body: (fd: number, ...args: A) => number) =>
      (fd: number, ...args: A) =>
        stdio(fd) ? errno : body(fd, ...args);
    const enosys = () => ERRNO.NOSYS;
    const functions: Record<string, (...args: never[]) => number> = {
      args_sizes_get: (count: number, size: number) => this.#sizes(this.#args, count, size),
      args_get: (pointers: number, buffer: number) => this.#strings(this.#args, pointers, buffer),
      environ_sizes_get: (count: number, size: number) => this.#sizes(this.#env, count, size),
      environ_get: (pointers: number, buffer: number) => this.#strings(this.#env, pointers, buffer),
      clock_res_get: (id: number, ptr: number) => this.#clock(id, ptr, 1_000n),
      clock_time_get: (id: number, _precision: bigint, ptr: number) =>
        this.#clock(id, ptr, this.#options.fixedTimeNs),
      fd_advise: onFd(ERRNO.SUCCESS, (fd) => files.fd_sync(fd)),
      fd_allocate: onFd(ERRNO.NOTSUP, (fd, offset: bigint, length: bigint) =>
        files.fd_allocate(fd, offset, length),
      ),
      fd_close: onFd(ERRNO.SUCCESS, (fd) => files.fd_close(fd)),
      fd_datasync: onFd(ERRNO.SUCCESS, (fd) => files.fd_sync(fd)),
      fd_fdstat_get: (fd: number, ptr: number) =>
        stdio(fd) ? this.#stdioFdstat(fd, ptr) : files.fd_fdstat_get(fd, ptr),
      fd_fdstat_set_flags: onFd(ERRNO.NOTSUP, (fd, flags: number) => files.fd_fdstat_set_flags(fd, flags)),
      fd_fdstat_set_rights: onFd(ERRNO.NOTSUP, (fd, base: bigint, inheriting: bigint) =>
        files.fd_fdstat_set_rights(fd, base, inheriting),
      ),
      fd_filestat_get: (fd: number, ptr: number) =>
        stdio(fd) ? this.#stdioFilestat(ptr) : files.fd_filestat_get(fd, ptr),
      fd_filestat_set_size: onFd(ERRNO.NOTSUP, (fd, size: bigint) => files.fd_filestat_set_size(fd, size)),
      fd_filestat_set_times: onFd(ERRNO.NOTSUP, (fd) => files.fd_filestat_set_times(fd)),
      fd_pread: onFd(ERRNO.SPIPE, (fd, iovs: number, len: number, offset: bigint, nread: number) =>
        files.fd_pread(fd, iovs, len, offset, nread),
      ),
      fd_prestat_get: onFd(ERRNO.BADF, (fd, ptr: number) => files.fd_prestat_get(fd, ptr)),
      fd_prestat_dir_name: onFd(ERRNO.BADF, (fd, ptr: number, len: number) =>
        files.fd_prestat_dir_name(fd, ptr, len),
      ),
      fd_pwrite: onFd(ERRNO.SPIPE, (fd, iovs: number, len: number, offset: bigint, nwritten: number) =>
        files.fd_pwrite(fd, iovs, len, offset, nwritten),
      ),
      fd_read: (fd: number, iovs: number, len: number, nread: number) => {
        if (fd === 0) {
          // stdin is empty
          if (!this.#inBounds(nread >>> 0, 4)) return ERRNO.FAULT;
          this.#view().setUint32(nread >>> 0, 0, true);
          return ERRNO.SUCCESS;
        }
        return stdio(fd) ? ERRNO.BADF : files.fd_read(fd, iovs, len, nread);
      },
      fd_readdir: onFd(ERRNO.NOTDIR, (fd, buf: number, len: number, cookie: bigint, used: number) =>
        files.fd_readdir(fd, buf, len, cookie, used),
      ),
      fd_renumber: (from: number, to: number) =>
        stdio(from) || stdio(to) ? ERRNO.NOTSUP : files.fd_renumber(from, to),
      fd_seek: onFd(ERRNO.SPIPE, (fd, offset: bigint, whence: number, ptr: number) =>
        files.fd_seek(fd, offset, whence, ptr),
      ),
      fd_sync: onFd(ERRNO.SUCCESS, (fd) => files.fd_sync(fd)),
      fd_tell: onFd(ERRNO.SPIPE, (fd, ptr: number) => files.fd_tell(fd, ptr)),
      fd_write: (fd: number, iovs: number, len: number, nwritten: number) => {
        if (fd === 1 || fd === 2) return this.#writeOutput(fd, iovs, len, nwritten);
        return fd === 0 ? ERRNO.BADF : files.fd_write(fd, iovs, len, nwritten);
      },
      path_create_directory: onFd(ERRNO.NOTDIR, (fd, path: number, len: number) =>
        files.path_create_directory(fd, path, len),
      ),
      path_filestat_get: onFd(ERRNO.NOTDIR, (fd, flags: number, path: number, len: number, ptr: number) =>
        files.path_filestat_get(fd, flags, path, len, ptr),
      ),
      path_filestat_set_times: onFd(ERRNO.NOTDIR, (fd, flags: number, path: number, len: number) =>
        files.path_filestat_set_times(fd, flags, path, len),
      ),
      path_link: () => ERRNO.NOTSUP,
      path_open: onFd(
        ERRNO.NOTDIR,
        (
          fd,
          lookup: number,
          path: number,
          len: number,
          oflags: number,
          base: bigint,
          inheriting: bigint,
          fdflags: number,
          fdPtr: number,
        ) => files.path_open(fd, lookup, path, len, oflags, base, inheriting, fdflags, fdPtr),
      ),
      path_readlink: onFd(ERRNO.NOTDIR, (fd, path: number, len: number) =>
        files.path_readlink(fd, path, len),
      ),
      path_remove_directory: onFd(ERRNO.NOTDIR, (fd, path: number, len: number) =>
        files.path_remove_directory(fd, path, len),
      ),
      path_rename: onFd(
        ERRNO.NOTDIR,
        (fd, from: number, fromLen: number, toFd: number, to: number, toLen: number) =>
          stdio(toFd) ? ERRNO.NOTDIR : files.path_rename(fd, from, fromLen, toFd, to, toLen),
      ),
      path_symlink: () => ERRNO.NOTSUP,
      path_unlink_file: onFd(ERRNO.NOTDIR, (fd, path: number, len: number) =>
        files.path_unlink_file(fd, path, len),
      ),
      poll_oneoff: (inPtr: number, outPtr: number, count: number, nevents: number) =>
        this.#pollOneoff(inPtr, outPtr, count, nevents),
      proc_exit: (code: number) => {
        throw new ProcExit(code >>> 0);
      },
      // uvwasi would send the signal to the whole host process; here nothing can be raised.
      proc_raise: enosys,
      random_get: (buf: number, len: number) => this.#randomGet(buf, len),
      sched_yield: () => ERRNO.SUCCESS,
      sock_accept: enosys,
      sock_recv: enosys,
      sock_send: enosys,
      sock_shutdown: enosys,
    };
    const onHostCall = this.#options.onHostCall;
    if (onHostCall) {
      for (const [name, fn] of Object.entries(functions)) {
        functions[name] = (...args: never[]) => {
          onHostCall();
          return fn(...args);
        };
      }
    }
    return { wasi_snapshot_preview1: functions };
  }
}

/** The names of every preview1 function: imports outside this set are refused before a job runs. */
export const WASI_FUNCTIONS: ReadonlySet<string> = new Set(
  Object.keys(
    new Wasi({
      args: [],
      env: {},
      seed: new Uint8Array(),
      fixedTimeNs: 0n,
      stdoutFd: -1,
      stderrFd: -1,
      outputLimit: 0,
      preopens: [],
      fileBytes: 0,
      hostFds: new Int32Array(0),
    }).imports().wasi_snapshot_preview1 as object,
  ),
);
