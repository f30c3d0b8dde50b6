/**
 * The bridge's state in one SQLite file (WAL): the last block whose `JobRequested` events are recorded, and each
 * job's step. New jobs and the cursor are written in one transaction, so a crash neither skips a job nor records
 * one twice; each step is committed before the bridge acts on it, so a restart resumes where it stopped.
 * Steps: requested → dealt (the deal the job runs in is known) → resulted (accepted, CID known) → finished.
 */
import Database from 'better-sqlite3';
import type { Address } from 'viem';
import type { JobRequest } from '../chain/jobs.js';
import type { Deal } from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';
import { dealSchema, parseWire, toWire } from '../protocol/wire.js';

export type BridgeStep = 'requested' | 'dealt' | 'resulted' | 'finished';

export type BridgeJob = {
  jobId: bigint;
  client: Address;
  module: string;
  inputs: string[];
  maxPrice: bigint;
  step: BridgeStep;
  deal: Deal | undefined;
  resultCID: string | undefined;
  /** How the job ended, once finished: a status name, or what went wrong. */
  outcome: string | undefined;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY, client TEXT NOT NULL, module TEXT NOT NULL, inputs TEXT NOT NULL, max_price TEXT NOT NULL,
  step TEXT NOT NULL, deal TEXT, result_cid TEXT, outcome TEXT, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (job_id) WHERE step != 'finished';
`;

type JobRow = {
  job_id: string;
  client: Address;
  module: string;
  inputs: string;
  max_price: string;
  step: BridgeStep;
  deal: string | null;
  result_cid: string | null;
  outcome: string | null;
};

const fromRow = (row: JobRow): BridgeJob => ({
  jobId: BigInt(row.job_id),
  client: row.client,
  module: row.module,
  inputs: JSON.parse(row.inputs) as string[],
  maxPrice: BigInt(row.max_price),
  step: row.step,
  deal: row.deal === null ? undefined : parseWire(dealSchema, JSON.parse(row.deal), 'stored deal'),
  resultCID: row.result_cid ?? undefined,
  outcome: row.outcome ?? undefined,
});

export class BridgeStore {
  readonly #db: Database.Database;

  /** Opens (or creates) the store of the bridge for the jobs contract `jobs`; another contract's file is refused. */
  constructor(file: string, jobs: Address) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'jobs'").get() as
      | { value: string }
      | undefined;
    if (!row) {
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('jobs', ?)").run(jobs.toLowerCase());
    } else if (row.value !== jobs.toLowerCase()) {
      this.#db.close();
      throw new LilypadError(
        `the bridge state ${file} belongs to the jobs contract ${row.value}, not ${jobs}`,
        {
          hint: 'give each network its own --data-dir',
        },
      );
    }
  }

  /** The last block whose job requests are recorded. */
  cursor(): bigint | undefined {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'cursor'").get() as
      | { value: string }
      | undefined;
    return row ? BigInt(row.value) : undefined;
  }

  /** Records the requests of the blocks up to `toBlock` and moves the cursor there; returns the new jobs. */
  addRequests(requests: readonly JobRequest[], toBlock: bigint): BridgeJob[] {
    const insert = this.#db.prepare(
      `INSERT OR IGNORE INTO jobs (job_id, client, module, inputs, max_price, step, updated_at)
       VALUES (?, ?, ?, ?, ?, 'requested', ?)`,
    );
    return this.#db.transaction(() => {
      const added: BridgeJob[] = [];
      for (const r of requests) {
        const now = Date.now();
        const inputs = JSON.stringify(r.inputs);
        if (
          insert.run(r.jobId.toString(), r.client, r.module, inputs, r.maxPrice.toString(), now).changes === 1
        ) {
          added.push(this.get(r.jobId) as BridgeJob);
        }
      }
      this.#db
        .prepare(
          "INSERT INTO meta (key, value) VALUES ('cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(toBlock.toString());
      return added;
    })();
  }

  get(jobId: bigint): BridgeJob | undefined {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE job_id = ?').get(jobId.toString()) as
      | JobRow
      | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The jobs not finished yet, oldest first: what a restart resumes. */
  unfinished(): BridgeJob[] {
    const rows = this.#db.prepare("SELECT * FROM jobs WHERE step != 'finished'").all() as JobRow[];
    return rows.map(fromRow).sort((a, b) => (a.jobId < b.jobId ? -1 : 1));
  }

  setDeal(jobId: bigint, deal: Deal): void {
    this.#update(jobId, { step: 'dealt', deal: JSON.stringify(toWire(deal)) });
  }

  setResult(jobId: bigint, resultCID: string): void {
    this.#update(jobId, { step: 'resulted', result_cid: resultCID });
  }

  finish(jobId: bigint, outcome: string): void {
    this.#update(jobId, { step: 'finished', outcome });
  }

  close(): void {
    this.#db.close();
  }

  #update(jobId: bigint, fields: Record<string, string | null>): void {
    const columns = Object.keys(fields);
    this.#db
      .prepare(
        `UPDATE jobs SET ${columns.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE job_id = ?`,
      )
      .run(...Object.values(fields), Date.now(), jobId.toString());
  }
}
