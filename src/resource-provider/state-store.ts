/**
 * What the provider must not forget when it is killed: its open offers and every deal it signed, with the
 * step the deal has reached. One SQLite file in WAL mode; each step is committed before the next begins, so a
 * provider restarted on the same data dir knows, for every deal, what is left to do (see resume in
 * resource-provider.ts). Rows hold deals and job offers as their wire JSON.
 */
import Database from 'better-sqlite3';
import type { Hex } from 'viem';
import type { Deal, JobOffer, ResourceOffer } from '../protocol/eip712.js';
import { resultsCollateral } from '../protocol/pricing.js';
import { dealSchema, jobOfferSchema, resourceOfferSchema, toWire } from '../protocol/wire.js';

/**
 * A deal's steps, in order: signed (waiting for `agree`), running, ran (result bundle imported), uploaded (to
 * the directory), submitted (on-chain; waiting to be paid), settled (final on-chain). A signed deal whose
 * proposal the solver cancelled is `withdrawn`: it holds no slot, and is settled once the chain confirms it
 * was never agreed (the job creator still holds the signature until the deal expires).
 */
export const DealSteps = [
  'signed',
  'withdrawn',
  'running',
  'ran',
  'uploaded',
  'submitted',
  'settled',
] as const;
export type DealStep = (typeof DealSteps)[number];

export type StoredProviderDeal = {
  id: Hex;
  deal: Deal;
  jobOffer: JobOffer;
  step: DealStep;
  resultCID: string | null;
  instructionCount: bigint | null;
  /** What the job creator owes: known once the result is submitted. */
  cost: bigint | null;
  /** The chain's time of the result, in seconds: when the judging window opened. */
  resultsAt: number | null;
  /** The final on-chain state once settled. */
  chainState: number | null;
  /** What this deal paid the provider (0 when it was not paid). */
  earned: bigint;
  updatedAt: number;
};

/** The operator's figures: what `lilypad resource-provider status` and the metrics endpoint show. */
export type ProviderFigures = {
  /** Deals signed and not yet agreed on-chain. */
  waiting: number;
  running: number;
  /** Results submitted, waiting to be accepted or to time out into acceptance. */
  awaitingPayment: number;
  done: number;
  /** Deals that ended without pay (timed out, rejected by mediation). */
  unpaid: number;
  earned: bigint;
  /** Timeout collateral of the deals at work plus results collateral of the deals awaiting payment. */
  collateralLocked: bigint;
};

type DealRow = {
  id: Hex;
  deal: string;
  job_offer: string;
  step: DealStep;
  result_cid: string | null;
  instruction_count: string | null;
  cost: string | null;
  results_at: number | null;
  chain_state: number | null;
  earned: string;
  updated_at: number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS offers (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deals (
  id TEXT PRIMARY KEY, deal TEXT NOT NULL, job_offer TEXT NOT NULL, step TEXT NOT NULL,
  result_cid TEXT, instruction_count TEXT, cost TEXT, results_at INTEGER, chain_state INTEGER,
  earned TEXT NOT NULL DEFAULT '0', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deals_open ON deals (created_at) WHERE step != 'settled';
`;

export type DealProgress = Partial<
  Pick<
    StoredProviderDeal,
    'step' | 'resultCID' | 'instructionCount' | 'cost' | 'resultsAt' | 'chainState' | 'earned'
  >
>;

export class ProviderStore {
  readonly #db: Database.Database;
  readonly #statements;

  /** Opens (or creates) the state file; `readonly` for a reader beside a running provider (`status`). */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.#db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
    if (!options.readonly) {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec(SCHEMA);
    }
    this.#db.pragma('busy_timeout = 2000');
    const db = this.#db;
    this.#statements = options.readonly
      ? undefined
      : {
          addOffer: db.prepare('INSERT OR IGNORE INTO offers (id, body, created_at) VALUES (?, ?, ?)'),
          removeOffer: db.prepare('DELETE FROM offers WHERE id = ?'),
          addDeal: db.prepare(
            "INSERT OR IGNORE INTO deals (id, deal, job_offer, step, created_at, updated_at) VALUES (?, ?, ?, 'signed', ?, ?)",
          ),
        };
  }

  close(): void {
    this.#db.close();
  }

  /** The slots the provider last ran with: for `status`, read while the provider may be down. */
  setSlots(slots: number): void {
    this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('slots', ?)").run(String(slots));
  }

  slots(): number {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'slots'").get() as
      | { value: string }
      | undefined;
    return row ? Number(row.value) : 0;
  }

  addOffer(id: Hex, offer: ResourceOffer): void {
    this.#statements?.addOffer.run(id, JSON.stringify(toWire(offer)), Date.now());
  }

  removeOffer(id: Hex): void {
    this.#statements?.removeOffer.run(id);
  }

  offers(): { id: Hex; offer: ResourceOffer }[] {
    const rows = this.#db.prepare('SELECT id, body FROM offers ORDER BY created_at').all() as {
      id: Hex;
      body: string;
    }[];
    return rows.map((row) => ({ id: row.id, offer: resourceOfferSchema.parse(JSON.parse(row.body)) }));
  }

  /** Records a deal the provider signed; false when it was known already. */
  addDeal(id: Hex, deal: Deal, jobOffer: JobOffer): boolean {
    const now = Date.now();
    const result = this.#statements?.addDeal.run(
      id,
      JSON.stringify(toWire(deal)),
      JSON.stringify(toWire(jobOffer)),
      now,
      now,
    );
    return (result?.changes ?? 0) > 0;
  }

  getDeal(id: Hex): StoredProviderDeal | undefined {
    const row = this.#db.prepare('SELECT * FROM deals WHERE id = ?').get(id) as DealRow | undefined;
    return row && fromRow(row);
  }

  /** Deals not settled yet, oldest first: what a restarted provider takes up again. */
  openDeals(): StoredProviderDeal[] {
    const rows = this.#db
      .prepare("SELECT * FROM deals WHERE step != 'settled' ORDER BY created_at")
      .all() as DealRow[];
    return rows.map(fromRow);
  }

  /** Deals at work: signed and not yet submitted. Each holds one slot. */
  busySlots(): number {
    return (
      this.#db
        .prepare("SELECT COUNT(*) AS n FROM deals WHERE step IN ('signed', 'running', 'ran', 'uploaded')")
        .get() as { n: number }
    ).n;
  }

  update(id: Hex, progress: DealProgress): void {
    const columns: Record<string, unknown> = {
      step: progress.step,
      result_cid: progress.resultCID,
      instruction_count: progress.instructionCount?.toString(),
      cost: progress.cost?.toString(),
      results_at: progress.resultsAt,
      chain_state: progress.chainState,
      earned: progress.earned?.toString(),
    };
    const set = Object.entries(columns).filter(([, value]) => value !== undefined);
    const sql = `UPDATE deals SET ${set.map(([column]) => `${column} = ?`).join(', ')}, updated_at = ? WHERE id = ?`;
    this.#db.prepare(sql).run(...set.map(([, value]) => value), Date.now(), id);
  }

  figures(): ProviderFigures {
    const rows = this.#db.prepare('SELECT step, deal, cost, earned FROM deals').all() as Pick<
      DealRow,
      'step' | 'deal' | 'cost' | 'earned'
    >[];
    const figures: ProviderFigures = {
      waiting: 0,
      running: 0,
      awaitingPayment: 0,
      done: 0,
      unpaid: 0,
      earned: 0n,
      collateralLocked: 0n,
    };
    for (const row of rows) {
      if (row.step === 'signed') figures.waiting++;
      else if (row.step === 'withdrawn') continue;
      else if (row.step === 'submitted') {
        figures.awaitingPayment++;
        const deal = dealSchema.parse(JSON.parse(row.deal));
        figures.collateralLocked += resultsCollateral(deal, BigInt(row.cost ?? 0));
      } else if (row.step === 'settled') {
        const earned = BigInt(row.earned);
        figures.earned += earned;
        if (earned > 0n) figures.done++;
        else figures.unpaid++;
      } else {
        figures.running++;
        figures.collateralLocked += dealSchema.parse(JSON.parse(row.deal)).timeoutCollateral;
      }
    }
    return figures;
  }
}

function fromRow(row: DealRow): StoredProviderDeal {
  return {
    id: row.id,
    deal: dealSchema.parse(JSON.parse(row.deal)),
    jobOffer: jobOfferSchema.parse(JSON.parse(row.job_offer)),
    step: row.step,
    resultCID: row.result_cid,
    instructionCount: row.instruction_count === null ? null : BigInt(row.instruction_count),
    cost: row.cost === null ? null : BigInt(row.cost),
    resultsAt: row.results_at,
    chainState: row.chain_state,
    earned: BigInt(row.earned),
    updatedAt: row.updated_at,
  };
}
