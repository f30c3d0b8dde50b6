/**
 * The mediator's state in SQLite: the last block of the chain it has read, and one row per deal it was drawn
 * for, open until its verdict is on-chain (or the deal settled without it). A block's draws are stored in the
 * same transaction as the cursor that passes it, so a restart neither misses a draw nor reads one twice; the
 * verdict itself is checked against the chain before it is sent, so it is never given twice either.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Hex } from 'viem';

export type MediationRecord = {
  dealId: Hex;
  drawnAtBlock: bigint;
  /** open: to judge; done: the verdict is on-chain, or the deal no longer needs it (see `outcome`). */
  status: 'open' | 'done';
  resultCorrect: boolean | null;
  /** Why: what was compared, or why no verdict was needed. */
  outcome: string | null;
  txHash: Hex | null;
};

type Row = {
  deal_id: string;
  drawn_at_block: string;
  status: 'open' | 'done';
  result_correct: number | null;
  outcome: string | null;
  tx_hash: string | null;
};

const fromRow = (row: Row): MediationRecord => ({
  dealId: row.deal_id as Hex,
  drawnAtBlock: BigInt(row.drawn_at_block),
  status: row.status,
  resultCorrect: row.result_correct === null ? null : row.result_correct === 1,
  outcome: row.outcome,
  txHash: row.tx_hash as Hex | null,
});

export class MediatorStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), block TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS mediations (
        deal_id TEXT PRIMARY KEY,
        drawn_at_block TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'done')),
        result_correct INTEGER,
        outcome TEXT,
        tx_hash TEXT
      );`);
  }

  cursor(): bigint | undefined {
    const row = this.#db.prepare('SELECT block FROM cursor WHERE id = 1').get() as
      | { block: string }
      | undefined;
    return row ? BigInt(row.block) : undefined;
  }

  /** Records the deals this mediator was drawn for up to `toBlock`, and moves the cursor there, atomically. */
  addDraws(draws: readonly { dealId: Hex; block: bigint }[], toBlock: bigint): void {
    const insert = this.#db.prepare(
      "INSERT OR IGNORE INTO mediations (deal_id, drawn_at_block, status) VALUES (?, ?, 'open')",
    );
    const moveCursor = this.#db.prepare(
      'INSERT INTO cursor (id, block) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET block = excluded.block',
    );
    this.#db.transaction(() => {
      for (const draw of draws) insert.run(draw.dealId.toLowerCase(), draw.block.toString());
      moveCursor.run(toBlock.toString());
    })();
  }

  open(): MediationRecord[] {
    const rows = this.#db
      .prepare("SELECT * FROM mediations WHERE status = 'open' ORDER BY CAST(drawn_at_block AS INTEGER)")
      .all() as Row[];
    return rows.map(fromRow);
  }

  all(): MediationRecord[] {
    const rows = this.#db
      .prepare('SELECT * FROM mediations ORDER BY CAST(drawn_at_block AS INTEGER)')
      .all() as Row[];
    return rows.map(fromRow);
  }

  finish(dealId: Hex, done: { resultCorrect: boolean | null; outcome: string; txHash: Hex | null }): void {
    this.#db
      .prepare(
        "UPDATE mediations SET status = 'done', result_correct = ?, outcome = ?, tx_hash = ? WHERE deal_id = ?",
      )
      .run(
        done.resultCorrect === null ? null : done.resultCorrect ? 1 : 0,
        done.outcome,
        done.txHash,
        dealId.toLowerCase(),
      );
  }

  close(): void {
    this.#db.close();
  }
}
