import Database from 'better-sqlite3';
import type { Address, Hex } from 'viem';
import { dealSchema, signedJobOfferSchema, signedResourceOfferSchema, toWire } from '../protocol/wire.js';
import type {
  DealStatus,
  JobOfferStatus,
  ResourceOfferStatus,
  Store,
  StoredDeal,
  StoredJobOffer,
  StoredResourceOffer,
} from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job_offers (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, reason TEXT, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_offers_status ON job_offers (status, created_at);
CREATE TABLE IF NOT EXISTS resource_offers (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS resource_offers_status ON resource_offers (status, created_at);
CREATE TABLE IF NOT EXISTS deals (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, job_offer_id TEXT NOT NULL, resource_offer_id TEXT NOT NULL,
  job_creator TEXT NOT NULL, resource_provider TEXT NOT NULL,
  status TEXT NOT NULL, chain_state INTEGER NOT NULL DEFAULT 0, signature_jc TEXT, signature_rp TEXT,
  agree_tx TEXT, result_cid TEXT, instruction_count TEXT, cost TEXT, reason TEXT,
  proposed_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deals_status ON deals (status);
CREATE TABLE IF NOT EXISTS uploads (
  cid TEXT NOT NULL, deal_id TEXT NOT NULL, uploader TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (cid, deal_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type JobOfferRow = {
  id: Hex;
  body: string;
  status: JobOfferStatus;
  deal_id: Hex | null;
  reason: string | null;
  created_at: number;
};
type ResourceOfferRow = {
  id: Hex;
  body: string;
  status: ResourceOfferStatus;
  deal_id: Hex | null;
  created_at: number;
};
type DealRow = {
  id: Hex;
  body: string;
  job_offer_id: Hex;
  resource_offer_id: Hex;
  status: DealStatus;
  chain_state: number;
  signature_jc: Hex | null;
  signature_rp: Hex | null;
  agree_tx: Hex | null;
  result_cid: string | null;
  instruction_count: string | null;
  cost: string | null;
  reason: string | null;
  proposed_at: number;
  updated_at: number;
};

const dealColumns: Record<string, string> = {
  status: 'status',
  chainState: 'chain_state',
  signatureJC: 'signature_jc',
  signatureRP: 'signature_rp',
  agreeTx: 'agree_tx',
  resultCID: 'result_cid',
  instructionCount: 'instruction_count',
  cost: 'cost',
  reason: 'reason',
  updatedAt: 'updated_at',
};

/** The default store: one SQLite file, written synchronously (WAL), so nothing acknowledged is lost. */
export class SqliteStore implements Store {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
  }

  addJobOffer(offer: StoredJobOffer): boolean {
    const result = this.#db
      .prepare(
        'INSERT OR IGNORE INTO job_offers (id, body, status, deal_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        offer.id,
        JSON.stringify(toWire(offer.signed)),
        offer.status,
        offer.dealId,
        offer.reason,
        offer.createdAt,
      );
    return result.changes === 1;
  }

  getJobOffer(id: Hex): StoredJobOffer | undefined {
    const row = this.#db.prepare('SELECT * FROM job_offers WHERE id = ?').get(id) as JobOfferRow | undefined;
    return row && jobOfferFromRow(row);
  }

  updateJobOffer(id: Hex, patch: Partial<Pick<StoredJobOffer, 'status' | 'dealId' | 'reason'>>): void {
    this.#update('job_offers', id, { status: patch.status, deal_id: patch.dealId, reason: patch.reason });
  }

  jobOffersWithStatus(status: JobOfferStatus): StoredJobOffer[] {
    const rows = this.#db
      .prepare('SELECT * FROM job_offers WHERE status = ? ORDER BY created_at, id')
      .all(status) as JobOfferRow[];
    return rows.map(jobOfferFromRow);
  }

  addResourceOffer(offer: StoredResourceOffer): boolean {
    const result = this.#db
      .prepare(
        'INSERT OR IGNORE INTO resource_offers (id, body, status, deal_id, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(offer.id, JSON.stringify(toWire(offer.signed)), offer.status, offer.dealId, offer.createdAt);
    return result.changes === 1;
  }

  getResourceOffer(id: Hex): StoredResourceOffer | undefined {
    const row = this.#db.prepare('SELECT * FROM resource_offers WHERE id = ?').get(id) as
      | ResourceOfferRow
      | undefined;
    return row && resourceOfferFromRow(row);
  }

  updateResourceOffer(id: Hex, patch: Partial<Pick<StoredResourceOffer, 'status' | 'dealId'>>): void {
    this.#update('resource_offers', id, { status: patch.status, deal_id: patch.dealId });
  }

  resourceOffersWithStatus(status: ResourceOfferStatus): StoredResourceOffer[] {
    const rows = this.#db
      .prepare('SELECT * FROM resource_offers WHERE status = ? ORDER BY created_at, id')
      .all(status) as ResourceOfferRow[];
    return rows.map(resourceOfferFromRow);
  }

  addDeal(deal: StoredDeal): void {
    this.#db
      .prepare(
        `INSERT INTO deals (id, body, job_offer_id, resource_offer_id, job_creator, resource_provider, status, chain_state,
          signature_jc, signature_rp, agree_tx, result_cid, instruction_count, cost, reason, proposed_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        deal.id,
        JSON.stringify(toWire(deal.deal)),
        deal.jobOfferId,
        deal.resourceOfferId,
        deal.deal.jobCreator.toLowerCase(),
        deal.deal.resourceProvider.toLowerCase(),
        deal.status,
        deal.chainState,
        deal.signatureJC,
        deal.signatureRP,
        deal.agreeTx,
        deal.resultCID,
        deal.instructionCount?.toString() ?? null,
        deal.cost?.toString() ?? null,
        deal.reason,
        deal.proposedAt,
        deal.updatedAt,
      );
  }

  getDeal(id: Hex): StoredDeal | undefined {
    const row = this.#db.prepare('SELECT * FROM deals WHERE id = ?').get(id) as DealRow | undefined;
    return row && dealFromRow(row);
  }

  updateDeal(id: Hex, patch: Parameters<Store['updateDeal']>[1]): void {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) {
      const column = dealColumns[key];
      if (!column) throw new Error(`deals has no column for ${key}`);
      values[column] = typeof value === 'bigint' ? value.toString() : value;
    }
    this.#update('deals', id, values);
  }

  activeDeals(party?: Address): StoredDeal[] {
    const active = "status NOT IN ('settled', 'cancelled')";
    const rows = (
      party
        ? this.#db
            .prepare(
              `SELECT * FROM deals WHERE ${active} AND (job_creator = ? OR resource_provider = ?) ORDER BY proposed_at`,
            )
            .all(party.toLowerCase(), party.toLowerCase())
        : this.#db.prepare(`SELECT * FROM deals WHERE ${active} ORDER BY proposed_at`).all()
    ) as DealRow[];
    return rows.map(dealFromRow);
  }

  recordUpload(upload: { cid: string; dealId: Hex; uploader: Address; bytes: number }): void {
    this.#db
      .prepare(
        'INSERT OR IGNORE INTO uploads (cid, deal_id, uploader, bytes, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(upload.cid, upload.dealId, upload.uploader, upload.bytes, Date.now());
  }

  getChainCursor(): bigint | undefined {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'chain_cursor'").get() as
      | { value: string }
      | undefined;
    return row ? BigInt(row.value) : undefined;
  }

  setChainCursor(block: bigint): void {
    this.#db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('chain_cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(block.toString());
  }

  transaction<T>(work: () => T): T {
    return this.#db.transaction(work)();
  }

  close(): void {
    this.#db.close();
  }

  #update(table: string, id: Hex, values: Record<string, unknown>): void {
    const entries = Object.entries(values).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const assignments = entries.map(([column]) => `${column} = ?`).join(', ');
    this.#db
      .prepare(`UPDATE ${table} SET ${assignments} WHERE id = ?`)
      .run(...entries.map(([, value]) => value), id);
  }
}

function jobOfferFromRow(row: JobOfferRow): StoredJobOffer {
  return {
    id: row.id,
    signed: signedJobOfferSchema.parse(JSON.parse(row.body)),
    status: row.status,
    dealId: row.deal_id,
    reason: row.reason,
    createdAt: row.created_at,
  };
}

function resourceOfferFromRow(row: ResourceOfferRow): StoredResourceOffer {
  return {
    id: row.id,
    signed: signedResourceOfferSchema.parse(JSON.parse(row.body)),
    status: row.status,
    dealId: row.deal_id,
    createdAt: row.created_at,
  };
}

function dealFromRow(row: DealRow): StoredDeal {
  return {
    id: row.id,
    deal: dealSchema.parse(JSON.parse(row.body)),
    jobOfferId: row.job_offer_id,
    resourceOfferId: row.resource_offer_id,
    status: row.status,
    chainState: row.chain_state,
    signatureJC: row.signature_jc,
    signatureRP: row.signature_rp,
    agreeTx: row.agree_tx,
    resultCID: row.result_cid,
    instructionCount: row.instruction_count === null ? null : BigInt(row.instruction_count),
    cost: row.cost === null ? null : BigInt(row.cost),
    reason: row.reason,
    proposedAt: row.proposed_at,
    updatedAt: row.updated_at,
  };
}
