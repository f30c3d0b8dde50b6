/**
 * Follows the deal contract's events from a persisted cursor, so the solver's view of each deal equals
 * the chain's, and a restart re-reads what it missed. `apply` must store the new cursor in the same
 * transaction as the changes the logs make, so a crash can neither skip logs nor apply them twice.
 * `poll()` can be called early to cut latency.
 */
import { type Log, parseEventLogs } from 'viem';
import { lilypadDealsAbi } from './artifacts/index.js';
import type { LilypadPublicClient } from './clients.js';

export type DealLog = ReturnType<typeof parseEventLogs<typeof lilypadDealsAbi>>[number];

export class ChainFollower {
  readonly #client: LilypadPublicClient;
  readonly #address: `0x${string}`;
  readonly #intervalMs: number;
  readonly #apply: (logs: DealLog[], toBlock: bigint) => void;
  readonly #cursor: () => bigint | undefined;
  readonly #startBlock: bigint;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: {
    client: LilypadPublicClient;
    address: `0x${string}`;
    intervalMs: number;
    /** The last block already applied. */
    cursor: () => bigint | undefined;
    /** Where to start without a cursor: the deal contract's deployment block (no events before it). */
    startBlock?: bigint;
    apply: (logs: DealLog[], toBlock: bigint) => void;
  }) {
    this.#client = options.client;
    this.#address = options.address;
    this.#intervalMs = options.intervalMs;
    this.#cursor = options.cursor;
    this.#startBlock = options.startBlock ?? 0n;
    this.#apply = options.apply;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** Reads new logs now; concurrent calls share one read and ask for one more after it. */
  poll(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#read().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.poll();
      }
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.poll()
        .catch(() => {}) // a failed read is retried on the next tick; the cursor did not move
        .finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  async #read(): Promise<void> {
    const latest = await this.#client.getBlockNumber({ cacheTime: 0 });
    const cursor = this.#cursor();
    const from = cursor === undefined ? this.#startBlock : cursor + 1n;
    if (from > latest) return;
    const logs: Log[] = await this.#client.getLogs({
      address: this.#address,
      fromBlock: from,
      toBlock: latest,
    });
    this.#apply(parseEventLogs({ abi: lilypadDealsAbi, logs }), latest);
  }
}
