/**
 * WASM job threads, kept warm: a thread whose job ended by itself (exit, trap, limit) takes the next
 * job, so a job pays for an instance and its own run, not for a thread's start-up (~25 ms). A thread
 * stopped from outside (wall-time limit, cancellation) or that misbehaved is terminated, and the host
 * descriptors its job held are closed here. Idle threads are unref'd: they never keep a process alive.
 *
 * Threads get an 8 MiB native stack, far above the metered call-stack limit (metering.ts), so a
 * metered module hits the deterministic limit long before V8's own.
 */
import { closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LilypadError } from '../../protocol/errors.js';
import { HOST_FD_SLOTS } from './wasi-files.js';
import type { WorkerJob, WorkerRequest, WorkerResponse, WorkerStatus } from './worker.js';

const STACK_SIZE_MB = 8;
/** A thread is retired after this many jobs, to bound whatever a long life accumulates. */
const JOBS_PER_THREAD = 200;

export type PoolOutcome = {
  status: WorkerStatus | 'timed-out' | 'cancelled';
  exitCode: number;
  memoryPeakBytes?: number;
  instructionCount?: bigint;
  message?: string;
};

/** The shared memory a job needs: see WorkerJob.shared. */
export function jobSharedMemory(): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(4 * (1 + HOST_FD_SLOTS));
  new Int32Array(shared).fill(-1, 1);
  return shared;
}

let workerUrl: Promise<URL> | undefined;

/**
 * worker.js next to this file after tsc; from the TypeScript sources (tsx, vitest) worker.ts is
 * bundled once with esbuild (tsx's own) and started from a data: URL, because Node 20 applies no
 * loader hooks to a worker's entry module.
 */
function workerEntry(): Promise<URL> {
  workerUrl ??= (async () => {
    if (!import.meta.url.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.contents ?? (await readFile(new URL('./worker.ts', import.meta.url)));
    return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  })();
  workerUrl.catch(() => {
    workerUrl = undefined;
  });
  return workerUrl;
}

type Thread = { worker: Worker; jobs: number; exited: Promise<void> };

export class WorkerPool {
  readonly #maxIdle: number;
  readonly #idle: Thread[] = [];
  #busy = 0;

  constructor(options: { maxIdle?: number } = {}) {
    this.#maxIdle = options.maxIdle ?? 2;
  }

  /** Threads running a job or not yet reclaimed after one. */
  get busy(): number {
    return this.#busy;
  }

  get idle(): number {
    return this.#idle.length;
  }

  async #spawn(): Promise<Thread> {
    const worker = new Worker(await workerEntry(), {
      execArgv: [],
      // The module's memory is not on the JS heap; this bounds only the glue.
      resourceLimits: {
        maxOldGenerationSizeMb: 64,
        maxYoungGenerationSizeMb: 16,
        stackSizeMb: STACK_SIZE_MB,
      },
    });
    const thread: Thread = { worker, jobs: 0, exited: Promise.resolve() };
    thread.exited = new Promise<void>((done) =>
      worker.once('exit', () => {
        this.#forget(thread);
        done();
      }),
    );
    return thread;
  }

  /** Starts a thread now, so the first job does not wait for one. */
  async warmUp(): Promise<void> {
    if (this.#idle.length >= this.#maxIdle) return;
    const thread = await this.#spawn();
    thread.worker.unref();
    this.#idle.push(thread);
  }

  #forget(thread: Thread): void {
    const at = this.#idle.indexOf(thread);
    if (at !== -1) this.#idle.splice(at, 1);
  }

  /** Runs one job; resolves with how it ended. Rejects only when no thread could run it. */
  async run(
    job: WorkerJob,
    options: { wallTimeMs: number; signal?: AbortSignal; onStarted?: () => void },
  ): Promise<PoolOutcome> {
    this.#busy++;
    let thread: Thread | undefined;
    try {
      thread = this.#idle.pop() ?? (await this.#spawn());
    } catch (error) {
      this.#busy--;
      throw new LilypadError(`could not start a WASM job thread: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const { worker } = thread;
    worker.ref();
    thread.jobs++;
    let reusable = false;
    const outcome = await new Promise<PoolOutcome>((resolve, reject) => {
      let started = false;
      const cleanUp = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const settle = (value: PoolOutcome) => {
        cleanUp();
        resolve(value);
      };
      const fail = (error: LilypadError) => {
        cleanUp();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          settle({ status: 'timed-out', exitCode: 124, message: `timed out after ${options.wallTimeMs} ms` }),
        options.wallTimeMs,
      );
      const onAbort = () => settle({ status: 'cancelled', exitCode: 130, message: 'cancelled' });
      const onMessage = (message: WorkerResponse) => {
        if (message.type === 'started') {
          started = true;
          options.onStarted?.();
          return;
        }
        reusable = true;
        const { type: _, ...finished } = message;
        settle(finished);
      };
      const onError = (error: Error) => {
        // Before the module started it is our failure, not the job's.
        if (!started)
          fail(new LilypadError(`the WASM job thread failed to start: ${error.message}`, { cause: error }));
        else settle({ status: 'failed', exitCode: 134, message: `job thread error: ${error.message}` });
      };
      const onExit = (code: number) => {
        if (!started)
          fail(new LilypadError(`the WASM job thread exited (${code}) before starting the module`));
        else settle({ status: 'failed', exitCode: 134, message: `job thread exited with ${code}` });
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ type: 'run', job } satisfies WorkerRequest);
    }).finally(async () => {
      if (reusable && thread.jobs < JOBS_PER_THREAD && this.#idle.length < this.#maxIdle) {
        worker.unref();
        this.#idle.push(thread);
      } else {
        await worker.terminate();
        await thread.exited;
        closeLeftovers(job.shared);
      }
      this.#busy--;
    });
    return outcome;
  }
}

/** Closes the host descriptors a terminated job left in its shared registry. */
function closeLeftovers(shared: SharedArrayBuffer): void {
  const slots = new Int32Array(shared);
  for (let i = 1; i < slots.length; i++) {
    const fd = Atomics.exchange(slots, i, -1);
    if (fd < 0) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}
