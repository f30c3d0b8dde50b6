/**
 * Moves SQLite's WAL checkpoints off the solver's thread. A checkpoint copies the log into the database
 * file and fsyncs it (tens of milliseconds on a VM disk); done on commit, as SQLite does by default,
 * it stalls whichever request commits then. Here a worker thread with its own connection runs a
 * PASSIVE checkpoint (which never blocks the writer) every `intervalMs`; the solver's connection keeps
 * a far-off automatic checkpoint only as a safety valve should the worker fall behind.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// A CommonJS worker given as source: it needs no file of its own, so it runs the same from src/ and dist/.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
} catch {
  db = undefined; // the store was closed (and its folder removed) before this thread started
}
const checkpoint = () => { try { db?.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); checkpoint(); db?.close(); parentPort.close(); });
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, intervalMs = 500) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, module, intervalMs } });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Runs a last checkpoint and ends the worker. */
  async stop(): Promise<void> {
    this.#worker.postMessage('stop');
    await Promise.race([this.#exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.#worker.terminate();
  }
}
