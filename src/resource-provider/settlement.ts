/**
 * Silence is acceptance: once a deal's judging window has passed without a word from its job creator,
 * the provider settles it itself. Deals that fall due together are settled in one `timeoutJudgeMany`
 * transaction; a batch the contract refuses (one deal was accepted meanwhile) is split, deal by deal.
 */
import type { Logger } from 'pino';
import type { Hex } from 'viem';
import type { LilypadPublicClient, LilypadWalletClient } from '../chain/clients.js';
import { type DealsNetwork, dealStatus, timeoutJudgeMany } from '../chain/deals.js';
import { DealState } from '../protocol/deal-states.js';
import type { Deal } from '../protocol/eip712.js';

type Due = { deal: Deal; dueMs: number };

export type JudgeSettlerOptions = {
  wallet: LilypadWalletClient;
  client: LilypadPublicClient;
  network: DealsNetwork;
  logger: Logger;
  /** Called with the deals a batch settled. */
  onSettled: (ids: Hex[]) => void;
  /** Deals settled by one transaction, at most. */
  batchSize?: number;
};

export class JudgeSettler {
  readonly #options: JudgeSettlerOptions;
  readonly #due = new Map<Hex, Due>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #flushing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: JudgeSettlerOptions) {
    this.#options = options;
  }

  /** Settles `deal` after `resultsAt + judgeTimeout` (chain seconds) unless it is settled first. */
  schedule(id: Hex, deal: Deal, resultsAt: number): void {
    if (this.#stopped) return;
    const dueMs = (resultsAt + Number(deal.judgeTimeout) + 1) * 1000;
    this.#due.set(id, { deal, dueMs });
    this.#arm(dueMs);
  }

  /** The deal settled some other way (accepted, challenged): nothing to do for it. */
  forget(id: Hex): void {
    this.#due.delete(id);
  }

  get pending(): number {
    return this.#due.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#flushing;
  }

  #arm(atMs: number): void {
    if (atMs >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = atMs;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, atMs - Date.now()));
    this.#timer.unref();
  }

  #flush(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#flushing) {
      // One batch at a time; look again when this one is done.
      void this.#flushing.then(() => this.#arm(Date.now()));
      return;
    }
    const now = Date.now();
    const due = [...this.#due].filter(([, entry]) => entry.dueMs <= now);
    for (const [id] of due) this.#due.delete(id);
    this.#flushing = this.#settle(due)
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'settling silent deals failed'))
      .finally(() => {
        this.#flushing = undefined;
        const next = Math.min(...[...this.#due.values()].map((entry) => entry.dueMs));
        if (Number.isFinite(next)) this.#arm(next);
      });
  }

  async #settle(due: [Hex, Due][], batchSize = this.#options.batchSize ?? 50): Promise<void> {
    const { client, network, wallet, logger } = this.#options;
    // Only what is still waiting for a verdict: the job creator may have accepted or challenged since.
    const states = await Promise.all(due.map(([id]) => dealStatus(client, network, id)));
    const open = due.filter((_, i) => states[i]?.state === DealState.ResultsSubmitted);
    for (let start = 0; start < open.length; start += batchSize) {
      const batch = open.slice(start, start + batchSize);
      try {
        const { hash } = await timeoutJudgeMany(
          wallet,
          network,
          batch.map(([, entry]) => entry.deal),
        );
        logger.info(
          { deals: batch.length, tx: hash },
          'job creators were silent: settled with timeoutJudgeMany',
        );
        this.#options.onSettled(batch.map(([id]) => id));
      } catch (error) {
        if (batch.length === 1) {
          // Too early by the chain's clock (a devnet's may run ahead or behind): try again in a second.
          const [id, entry] = batch[0] as [Hex, Due];
          logger.warn({ dealId: id, err: error }, 'timeoutJudge refused; retrying in a second');
          this.#due.set(id, { ...entry, dueMs: Date.now() + 1000 });
          continue;
        }
        await this.#settle(batch, 1);
      }
    }
  }
}
