/**
 * Runs one WASI (preview1) module in this worker thread and reports how it ended. The parent
 * terminates the thread for wall-clock limits and cancellation, so nothing here waits on time.
 *
 * Deterministic by construction: clocks return a fixed time, `random_get` is a SHA-256 counter stream
 * keyed by the job's seed, `poll_oneoff` never waits, sockets are ENOSYS, stdin is empty, and the
 * file metadata of stdin/stdout/stderr is fixed. stdout and stderr go straight into the result bundle
 * files, cut at the output limit.
 *
 * This file may import only Node built-ins: from the TypeScript sources it is loaded from a data: URL.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { parentPort, workerData } from 'node:worker_threads';
import type { WasmApi, WasmImports, WasmInstance, WasmMemory, WasmModule } from './wasm-api.js';

export type WorkerRequest = {
  module: WasmModule;
  args: string[];
  env: Record<string, string>;
  seed: Uint8Array;
  fixedTimeNs: bigint;
  stdinFd: number;
  stdoutFd: number;
  stderrFd: number;
  /** stdout and stderr together. */
  outputLimit: number;
  /** The memory's maximum after the rewrite: a trap with memory this full is an out-of-memory. */
  memoryMaxBytes: number;
  /** Int32 [memory bytes / 64 KiB last seen]: readable by the parent after it terminates us. */
  stats: SharedArrayBuffer;
};

export type WorkerResponse =
  | { type: 'started' }
  | {
      type: 'finished';
      status: 'succeeded' | 'failed' | 'out-of-memory' | 'output-limit';
      exitCode: number;
      memoryPeakBytes: number;
      message?: string;
    };

const ESUCCESS = 0;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ENOTSUP = 58;
const ESPIPE = 70;
const FILETYPE_CHARACTER_DEVICE = 2;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;
const EVENTTYPE_CLOCK = 0;
const PAGE = 65_536;
const RANDOM_DOMAIN = 'lilypad/wasi/random_get/v1';

type WasiFunction = (...args: never[]) => number;

const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const request = workerData as WorkerRequest;
const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const post = (message: WorkerResponse) => port.postMessage(message);

const stats = new Int32Array(request.stats);
let memory: WasmMemory | undefined;

function observe(): void {
  if (memory) Atomics.store(stats, 0, memory.buffer.byteLength / PAGE);
}

/** True when [ptr, ptr + length) lies inside the module's memory (callers `>>> 0` the signed i32s). */
function inBounds(ptr: number, length: number): boolean {
  return memory !== undefined && ptr >= 0 && length >= 0 && ptr + length <= memory.buffer.byteLength;
}

function view(): DataView {
  return new DataView((memory as WasmMemory).buffer);
}

// Thrown out of fd_write to stop the module at the output limit; nothing in wasm can catch it.
const outputLimitReached = new Error('output limit reached');

let outputBytes = 0;
function fdWrite(fd: number, iovsArg: number, iovsLenArg: number, nwrittenArg: number): number {
  observe();
  const [iovs, iovsLen, nwrittenPtr] = [iovsArg >>> 0, iovsLenArg >>> 0, nwrittenArg >>> 0];
  if (!inBounds(iovs, iovsLen * 8) || !inBounds(nwrittenPtr, 4)) return EFAULT;
  const target = fd === 1 ? request.stdoutFd : request.stderrFd;
  const dv = view();
  let written = 0;
  for (let i = 0; i < iovsLen; i++) {
    const ptr = dv.getUint32(iovs + i * 8, true);
    const length = dv.getUint32(iovs + i * 8 + 4, true);
    if (!inBounds(ptr, length)) return EFAULT;
    const allowed = Math.min(length, request.outputLimit - outputBytes);
    const chunk = new Uint8Array((memory as WasmMemory).buffer, ptr, allowed);
    for (let done = 0; done < allowed; ) done += writeSync(target, chunk, done, allowed - done);
    outputBytes += allowed;
    written += allowed;
    if (allowed < length) throw outputLimitReached;
  }
  dv.setUint32(nwrittenPtr, written, true);
  return ESUCCESS;
}

// random_get: SHA-256(domain ‖ seed ‖ counter) blocks, one continuous stream per run.
let randomCounter = 0n;
let randomPool = new Uint8Array(0);
function randomGet(bufArg: number, lengthArg: number): number {
  observe();
  const [buf, length] = [bufArg >>> 0, lengthArg >>> 0];
  if (!inBounds(buf, length)) return EFAULT;
  const target = new Uint8Array((memory as WasmMemory).buffer, buf, length);
  let filled = 0;
  while (filled < length) {
    if (randomPool.length === 0) {
      const counter = Buffer.alloc(8);
      counter.writeBigUInt64BE(randomCounter++);
      randomPool = createHash('sha256').update(RANDOM_DOMAIN).update(request.seed).update(counter).digest();
    }
    const take = Math.min(randomPool.length, length - filled);
    target.set(randomPool.subarray(0, take), filled);
    randomPool = randomPool.subarray(take);
    filled += take;
  }
  return ESUCCESS;
}

function clockTimeGet(id: number, _precision: bigint, timeArg: number): number {
  observe();
  const timePtr = timeArg >>> 0;
  if (id < 0 || id > 3) return EINVAL;
  if (!inBounds(timePtr, 8)) return EFAULT;
  view().setBigUint64(timePtr, request.fixedTimeNs, true);
  return ESUCCESS;
}

function clockResGet(id: number, resolutionArg: number): number {
  const resolutionPtr = resolutionArg >>> 0;
  if (id < 0 || id > 3) return EINVAL;
  if (!inBounds(resolutionPtr, 8)) return EFAULT;
  view().setBigUint64(resolutionPtr, 1_000n, true);
  return ESUCCESS;
}

// Every subscription fires at once: clocks have "elapsed", descriptors are "ready". No real waiting.
function pollOneoff(inArg: number, outArg: number, countArg: number, neventsArg: number): number {
  observe();
  const [inPtr, outPtr, count, neventsPtr] = [inArg >>> 0, outArg >>> 0, countArg >>> 0, neventsArg >>> 0];
  if (count === 0) return EINVAL;
  if (!inBounds(inPtr, count * 48) || !inBounds(outPtr, count * 32) || !inBounds(neventsPtr, 4))
    return EFAULT;
  const dv = view();
  for (let i = 0; i < count; i++) {
    const sub = inPtr + i * 48;
    const event = outPtr + i * 32;
    for (let b = 0; b < 32; b++) dv.setUint8(event + b, 0);
    dv.setBigUint64(event, dv.getBigUint64(sub, true), true);
    dv.setUint16(event + 8, ESUCCESS, true);
    const tag = dv.getUint8(sub + 8);
    dv.setUint8(event + 10, tag <= 2 ? tag : EVENTTYPE_CLOCK);
  }
  dv.setUint32(neventsPtr, count, true);
  return ESUCCESS;
}

// stdin/stdout/stderr are host files (/dev/null and the bundle files), but the module sees three
// identical-looking character devices with fixed metadata, and cannot seek, resize, close or renumber
// them: that would bypass the output limit (a sparse multi-GB stdout) or free a host descriptor.
function fdFdstatGet(base: WasiFunction, fd: number, statArg: number): number {
  if (fd > 2) return (base as (fd: number, ptr: number) => number)(fd, statArg);
  const statPtr = statArg >>> 0;
  if (!inBounds(statPtr, 24)) return EFAULT;
  const dv = view();
  for (let b = 0; b < 24; b++) dv.setUint8(statPtr + b, 0);
  dv.setUint8(statPtr, FILETYPE_CHARACTER_DEVICE);
  const rights = (fd === 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE;
  dv.setBigUint64(statPtr + 8, rights, true);
  return ESUCCESS;
}

function fdFilestatGet(base: WasiFunction, fd: number, statArg: number): number {
  if (fd > 2) return (base as (fd: number, ptr: number) => number)(fd, statArg);
  const statPtr = statArg >>> 0;
  if (!inBounds(statPtr, 64)) return EFAULT;
  const dv = view();
  for (let b = 0; b < 64; b++) dv.setUint8(statPtr + b, 0);
  dv.setUint8(statPtr + 16, FILETYPE_CHARACTER_DEVICE);
  dv.setBigUint64(statPtr + 24, 1n, true); // nlink
  for (const at of [40, 48, 56]) dv.setBigUint64(statPtr + at, request.fixedTimeNs, true);
  return ESUCCESS;
}

/** Wraps a WASI function whose first argument is a descriptor: on stdio it returns `errno`. */
function stdioGuard(base: WasiFunction | undefined, errno: number) {
  return (fd: number, ...rest: unknown[]) =>
    fd <= 2 ? errno : (base as unknown as (...args: unknown[]) => number)(fd, ...rest);
}

function imports(wasi: WASI): WasmImports {
  const base = (wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, WasiFunction> })
    .wasi_snapshot_preview1;
  const baseFdWrite = base.fd_write as (fd: number, iovs: number, len: number, nwritten: number) => number;
  const baseFilestat = base.fd_filestat_get as WasiFunction;
  const baseFdstat = base.fd_fdstat_get as WasiFunction;
  const enosys = () => ENOSYS;
  return {
    wasi_snapshot_preview1: {
      ...base,
      fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) =>
        fd === 1 || fd === 2
          ? fdWrite(fd, iovs, iovsLen, nwrittenPtr)
          : baseFdWrite(fd, iovs, iovsLen, nwrittenPtr),
      fd_filestat_get: (fd: number, statPtr: number) => fdFilestatGet(baseFilestat, fd, statPtr),
      fd_fdstat_get: (fd: number, statPtr: number) => fdFdstatGet(baseFdstat, fd, statPtr),
      fd_seek: stdioGuard(base.fd_seek, ESPIPE),
      fd_tell: stdioGuard(base.fd_tell, ESPIPE),
      fd_pread: stdioGuard(base.fd_pread, ESPIPE),
      fd_pwrite: stdioGuard(base.fd_pwrite, ESPIPE),
      fd_allocate: stdioGuard(base.fd_allocate, ENOTSUP),
      fd_filestat_set_size: stdioGuard(base.fd_filestat_set_size, ENOTSUP),
      fd_filestat_set_times: stdioGuard(base.fd_filestat_set_times, ENOTSUP),
      fd_fdstat_set_flags: stdioGuard(base.fd_fdstat_set_flags, ENOTSUP),
      fd_advise: stdioGuard(base.fd_advise, ESUCCESS),
      fd_close: stdioGuard(base.fd_close, ESUCCESS),
      fd_renumber: (from: number, to: number) =>
        from <= 2 || to <= 2 ? ENOTSUP : (base.fd_renumber as (a: number, b: number) => number)(from, to),
      // uvwasi would send the signal to the whole host process.
      proc_raise: enosys,
      random_get: randomGet,
      clock_time_get: clockTimeGet,
      clock_res_get: clockResGet,
      poll_oneoff: pollOneoff,
      sched_yield: () => ESUCCESS,
      sock_accept: enosys,
      sock_recv: enosys,
      sock_send: enosys,
      sock_shutdown: enosys,
    },
  };
}

type Finished = Extract<WorkerResponse, { type: 'finished' }>;

function execute(): Omit<Finished, 'type' | 'memoryPeakBytes'> {
  const wasi = new WASI({
    version: 'preview1',
    args: request.args,
    env: request.env,
    preopens: {},
    returnOnExit: true,
    stdin: request.stdinFd,
    stdout: request.stdoutFd,
    stderr: request.stderrFd,
  });
  let instance: WasmInstance;
  try {
    instance = new WebAssembly.Instance(request.module, imports(wasi));
  } catch (error) {
    const message = (error as Error).message;
    // V8 could not reserve the memory the module starts with.
    if (error instanceof RangeError && /memory/i.test(message)) {
      return { status: 'out-of-memory', exitCode: 137, message };
    }
    return { status: 'failed', exitCode: 134, message: `instantiation failed: ${message}` };
  }
  memory = instance.exports.memory as WasmMemory;
  observe();
  try {
    const exitCode = wasi.start(instance) ?? 0;
    return { status: exitCode === 0 ? 'succeeded' : 'failed', exitCode };
  } catch (error) {
    if (error === outputLimitReached)
      return { status: 'output-limit', exitCode: 153, message: 'output limit reached' };
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // A trap with memory at its maximum: the module ran out (AssemblyScript and others trap on a failed grow).
    const full = memory.buffer.byteLength + PAGE > request.memoryMaxBytes;
    if (full || (error instanceof RangeError && /memory/i.test(message))) {
      return { status: 'out-of-memory', exitCode: 137, message };
    }
    return { status: 'failed', exitCode: 134, message };
  }
}

post({ type: 'started' });
const outcome = execute();
observe();
post({ type: 'finished', ...outcome, memoryPeakBytes: memory ? memory.buffer.byteLength : 0 });
