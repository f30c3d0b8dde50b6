/**
 * Sends calls that arrive while a transaction is on its way as one batch (`agreeMany`, `submitResults`): under
 * load the per-job gas drops by a transaction's base cost and the warm balances, and an idle caller waits for
 * nothing (the first call goes at once). A batch is refused whole if one of its items is; then each item is sent
 * alone, so an item's failure stays its own.
 */
type Waiting<T, R> = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void };

export type CallBatcherOptions<T, R> = {
  one: (item: T) => Promise<R>;
  /** The results in the order of `items`. */
  many: (items: T[]) => Promise<R[]>;
  /** The most items in one batch (a block's gas limit bounds it). */
  maxBatch?: number;
};

export class CallBatcher<T, R> {
  readonly #one: (item: T) => Promise<R>;
  readonly #many: (items: T[]) => Promise<R[]>;
  readonly #maxBatch: number;
  readonly #queue: Waiting<T, R>[] = [];
  #sending = false;

  constructor(options: CallBatcherOptions<T, R>) {
    this.#one = options.one;
    this.#many = options.many;
    this.#maxBatch = options.maxBatch ?? 50;
  }

  call(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#sending) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      // Calls made in the same turn of the event loop join the first batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#queue.length > 0) await this.#send(this.#queue.splice(0, this.#maxBatch));
    } finally {
      this.#sending = false;
    }
  }

  async #send(batch: Waiting<T, R>[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const results = await this.#many(batch.map((w) => w.item));
        for (const [i, w] of batch.entries()) w.resolve(results[i] as R);
        return;
      } catch {
        // One refused item refuses the batch: each is sent alone below, and only the refused ones fail.
      }
    }
    await Promise.all(
      batch.map(async (w) => {
        try {
          w.resolve(await this.#one(w.item));
        } catch (error) {
          w.reject(error);
        }
      }),
    );
  }
}
