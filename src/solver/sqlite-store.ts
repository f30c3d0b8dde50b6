/**
 * The default store: one SQLite file in WAL mode. A commit is in the operating system's hands before
 * the solver acknowledges anything, so a killed solver loses nothing it answered for (a power cut can
 * lose the last commits: `synchronous = NORMAL`). Checkpoints, which fsync, run on a worker thread
 * (checkpointer.ts). Statements are prepared once; rows hold offers and deals as their wire JSON, read
 * back without re-validating (this process wrote them). Writes go straight to the tables, in the
 * caller's transaction (the solver commits many operations at once), so every read sees them.
 */
import Database from 'better-sqlite3';
import type { Address, Hex } from 'viem';
import type { Deal } from '../protocol/eip712.js';
import type { SignedJobOffer, SignedResourceOffer } from '../protocol/wire.js';
import { Checkpointer } from './checkpointer.js';
import type {
  DealStatus,
  DealsInMinute,
  JobOfferStatus,
  ModulePin,
  ResourceOfferStatus,
  Store,
  StoredDeal,
  StoredEvent,
  StoredJobOffer,
  StoredResourceOffer,
  Upload,
} from './store.js';

const ACTIVE = "status NOT IN ('settled', 'cancelled')";
const ONLINE = "status IN ('open', 'busy')";
/** A resource offer's provider, lower-case, from its row's JSON (kept in a column for counting). */
const PROVIDER_OF_BODY = "lower(json_extract(body, '$.offer.resourceProvider'))";

// Indexes are chosen for the write path: a matched offer or a new deal touches only the indexes it must
// (the partial ones hold just the open offers, waiting jobs, active deals and content to collect). The
// network's statistics read the offers online and the deals of the last hour through two more.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS job_offers (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, reason TEXT, created_at INTEGER NOT NULL,
  private INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS resource_offers (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, created_at INTEGER NOT NULL,
  resource_provider TEXT
);
CREATE TABLE IF NOT EXISTS deals (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, job_offer_id TEXT NOT NULL, resource_offer_id TEXT NOT NULL,
  job_creator TEXT NOT NULL, resource_provider TEXT NOT NULL,
  status TEXT NOT NULL, chain_state INTEGER NOT NULL DEFAULT 0, signature_jc TEXT, signature_rp TEXT,
  agree_tx TEXT, result_cid TEXT, instruction_count TEXT, cost TEXT, reason TEXT,
  proposed_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, collected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS uploads (
  cid TEXT NOT NULL, deal_id TEXT NOT NULL, uploader TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (cid, deal_id)
);
CREATE TABLE IF NOT EXISTS module_pins (
  cid TEXT NOT NULL, publisher TEXT NOT NULL, bytes INTEGER NOT NULL, published_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0, collected INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (cid, publisher)
);
CREATE TABLE IF NOT EXISTS events (
  address TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS event_seqs (address TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const INDEXES = `
DROP INDEX IF EXISTS job_offers_status;
DROP INDEX IF EXISTS resource_offers_status;
DROP INDEX IF EXISTS deals_status;
CREATE INDEX IF NOT EXISTS job_offers_queued ON job_offers (created_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS resource_offers_open ON resource_offers (created_at) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS deals_active ON deals (proposed_at) WHERE ${ACTIVE};
CREATE INDEX IF NOT EXISTS deals_to_collect ON deals (updated_at) WHERE NOT ${ACTIVE} AND collected = 0;
CREATE INDEX IF NOT EXISTS resource_offers_online ON resource_offers (created_at, id) WHERE ${ONLINE};
CREATE INDEX IF NOT EXISTS resource_offers_online_providers ON resource_offers (resource_provider) WHERE ${ONLINE};
CREATE INDEX IF NOT EXISTS deals_by_minute ON deals (proposed_at, status);
CREATE INDEX IF NOT EXISTS uploads_deal ON uploads (deal_id);
CREATE INDEX IF NOT EXISTS uploads_uploader ON uploads (uploader);
CREATE INDEX IF NOT EXISTS module_pins_publisher ON module_pins (publisher) WHERE collected = 0;
CREATE INDEX IF NOT EXISTS events_address ON events (address, seq);
`;

type JobOfferRow = {
  id: Hex;
  body: string;
  status: JobOfferStatus;
  deal_id: Hex | null;
  reason: string | null;
  created_at: number;
  private: number;
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

// Every uint field of offers and deals: decimal strings on the wire and in rows, bigints in memory.
const bigintFields = new Set([
  'maxPrice',
  'mediationFee',
  'submitTimeout',
  'judgeTimeout',
  'mediateTimeout',
  'nonce',
  'expiry',
  'fixedPrice',
  'pricePerInstruction',
  'timeoutCollateral',
  'paymentCollateral',
]);

/** A plain object with its bigint fields (not nested deeper than `depth`) as decimal strings. */
function wireCopy(value: object, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    out[key] =
      typeof v === 'bigint'
        ? v.toString()
        : depth > 1 && v !== null && typeof v === 'object' && !Array.isArray(v)
          ? wireCopy(v, depth - 1)
          : v;
  }
  return out;
}

/**
 * JSON of an offer or deal, whose bigints are at most two objects deep (a deeper one makes
 * JSON.stringify throw). Several times faster than a replacer, which is called for every value.
 */
const toJson = (value: object) => JSON.stringify(wireCopy(value, 2));

const MODULE_PIN_SELECT = `SELECT cid, publisher, bytes, published_at AS publishedAt, last_used_at AS lastUsedAt
  FROM module_pins`;

const fromJson = <T>(text: string): T =>
  JSON.parse(text, (key, v) => (bigintFields.has(key) && typeof v === 'string' ? BigInt(v) : v)) as T;

const JOB_OFFER_INSERT = `INSERT OR IGNORE INTO job_offers (id, body, status, deal_id, reason, created_at, private)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;
const RESOURCE_OFFER_INSERT = `INSERT OR IGNORE INTO resource_offers (id, body, status, deal_id, created_at, resource_provider)
  VALUES (?, ?, ?, ?, ?, ?)`;
const EVENT_INSERT = 'INSERT INTO events (address, seq, body, created_at) VALUES (?, ?, ?, ?)';
const DEAL_UPSERT = `INSERT INTO deals (id, body, job_offer_id, resource_offer_id, job_creator, resource_provider, status,
    chain_state, signature_jc, signature_rp, agree_tx, result_cid, instruction_count, cost, reason, proposed_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, chain_state = excluded.chain_state,
    signature_jc = excluded.signature_jc, signature_rp = excluded.signature_rp, agree_tx = excluded.agree_tx,
    result_cid = excluded.result_cid, instruction_count = excluded.instruction_count, cost = excluded.cost,
    reason = excluded.reason, proposed_at = excluded.proposed_at, updated_at = excluded.updated_at, collected = 0`;

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #checkpointer: Checkpointer;
  readonly #insertJobOffer: Database.Statement;
  readonly #insertResourceOffer: Database.Statement;
  readonly #upsertDeal: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #inTransaction: (work: () => unknown) => unknown;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('cache_size = -65536'); // 64 MiB
    this.#db.pragma('wal_autocheckpoint = 50000'); // 200 MiB: only if the checkpointer falls behind
    this.#db.exec(SCHEMA);
    this.#checkpointer = new Checkpointer(path);
    const dealColumnNames = (this.#db.pragma('table_info(deals)') as { name: string }[]).map((c) => c.name);
    if (!dealColumnNames.includes('collected')) {
      this.#db.exec('ALTER TABLE deals ADD COLUMN collected INTEGER NOT NULL DEFAULT 0');
    }
    const offerColumnNames = (this.#db.pragma('table_info(resource_offers)') as { name: string }[]).map(
      (c) => c.name,
    );
    const jobColumnNames = (this.#db.pragma('table_info(job_offers)') as { name: string }[]).map(
      (c) => c.name,
    );
    if (!jobColumnNames.includes('private')) {
      this.#db.exec('ALTER TABLE job_offers ADD COLUMN private INTEGER NOT NULL DEFAULT 0');
    }
    if (!offerColumnNames.includes('resource_provider')) {
      this.#db.exec(`ALTER TABLE resource_offers ADD COLUMN resource_provider TEXT;
        UPDATE resource_offers SET resource_provider = ${PROVIDER_OF_BODY};`);
    }
    this.#db.exec(INDEXES);
    this.#insertJobOffer = this.#db.prepare(JOB_OFFER_INSERT);
    this.#insertResourceOffer = this.#db.prepare(RESOURCE_OFFER_INSERT);
    this.#upsertDeal = this.#db.prepare(DEAL_UPSERT);
    this.#insertEvent = this.#db.prepare(EVENT_INSERT);
    this.#inTransaction = this.#db.transaction((work: () => unknown) => work());
    applyOldJournal(this.#db);
  }

  #sql(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  // ---- job offers ---------------------------------------------------------------------------------

  addJobOffer(offer: StoredJobOffer): boolean {
    return (
      this.#insertJobOffer.run(
        offer.id,
        toJson(offer.signed),
        offer.status,
        offer.dealId,
        offer.reason,
        offer.createdAt,
        offer.private ? 1 : 0,
      ).changes === 1
    );
  }

  getJobOffer(id: Hex): StoredJobOffer | undefined {
    const row = this.#sql('SELECT * FROM job_offers WHERE id = ?').get(id) as JobOfferRow | undefined;
    return row && jobOfferFromRow(row);
  }

  updateJobOffer(id: Hex, patch: Partial<Pick<StoredJobOffer, 'status' | 'dealId' | 'reason'>>): void {
    this.#update('job_offers', id, { status: patch.status, deal_id: patch.dealId, reason: patch.reason });
  }

  jobOffersWithStatus(status: JobOfferStatus): StoredJobOffer[] {
    const rows = this.#sql(
      status === 'queued'
        ? "SELECT * FROM job_offers WHERE status = 'queued' ORDER BY created_at, id"
        : 'SELECT * FROM job_offers WHERE status = ? ORDER BY created_at, id',
    ).all(...(status === 'queued' ? [] : [status])) as JobOfferRow[];
    return rows.map(jobOfferFromRow);
  }

  // ---- resource offers ----------------------------------------------------------------------------

  addResourceOffer(offer: StoredResourceOffer): boolean {
    return (
      this.#insertResourceOffer.run(
        offer.id,
        toJson(offer.signed),
        offer.status,
        offer.dealId,
        offer.createdAt,
        offer.signed.offer.resourceProvider.toLowerCase(),
      ).changes === 1
    );
  }

  getResourceOffer(id: Hex): StoredResourceOffer | undefined {
    const row = this.#sql('SELECT * FROM resource_offers WHERE id = ?').get(id) as
      | ResourceOfferRow
      | undefined;
    return row && resourceOfferFromRow(row);
  }

  updateResourceOffer(id: Hex, patch: Partial<Pick<StoredResourceOffer, 'status' | 'dealId'>>): void {
    this.#update('resource_offers', id, { status: patch.status, deal_id: patch.dealId });
  }

  resourceOffersWithStatus(status: ResourceOfferStatus): StoredResourceOffer[] {
    const rows = this.#sql(
      status === 'open'
        ? "SELECT * FROM resource_offers WHERE status = 'open' ORDER BY created_at, id"
        : 'SELECT * FROM resource_offers WHERE status = ? ORDER BY created_at, id',
    ).all(...(status === 'open' ? [] : [status])) as ResourceOfferRow[];
    return rows.map(resourceOfferFromRow);
  }

  onlineResourceOffers(page: { after?: Hex; limit: number }): StoredResourceOffer[] {
    const rows = (
      page.after
        ? this.#sql(
            `SELECT * FROM resource_offers WHERE ${ONLINE}
               AND (created_at, id) > (SELECT created_at, id FROM resource_offers WHERE id = ?)
             ORDER BY created_at, id LIMIT ?`,
          ).all(page.after, page.limit)
        : this.#sql(`SELECT * FROM resource_offers WHERE ${ONLINE} ORDER BY created_at, id LIMIT ?`).all(
            page.limit,
          )
    ) as ResourceOfferRow[];
    return rows.map(resourceOfferFromRow);
  }

  onlineResourceOfferCounts(): { offers: number; providers: number } {
    return this.#sql(
      `SELECT COUNT(*) AS offers, COUNT(DISTINCT resource_provider) AS providers
       FROM resource_offers INDEXED BY resource_offers_online_providers WHERE ${ONLINE}`,
    ).get() as { offers: number; providers: number };
  }

  // ---- deals --------------------------------------------------------------------------------------

  addDeal(deal: StoredDeal): void {
    this.#upsertDeal.run(
      deal.id,
      toJson(deal.deal),
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
    const row = this.#sql('SELECT * FROM deals WHERE id = ?').get(id) as DealRow | undefined;
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
    const rows = (
      party
        ? this.#sql(
            `SELECT * FROM deals WHERE ${ACTIVE} AND (job_creator = ? OR resource_provider = ?) ORDER BY proposed_at, id`,
          ).all(party.toLowerCase(), party.toLowerCase())
        : this.#sql(`SELECT * FROM deals WHERE ${ACTIVE} ORDER BY proposed_at, id`).all()
    ) as DealRow[];
    return rows.map(dealFromRow);
  }

  finishedDealsToCollect(before: number): StoredDeal[] {
    const rows = this.#sql(
      `SELECT * FROM deals WHERE NOT ${ACTIVE} AND collected = 0 AND updated_at < ? ORDER BY updated_at, id`,
    ).all(before) as DealRow[];
    return rows.map(dealFromRow);
  }

  dealsToKeep(since: number): StoredDeal[] {
    const rows = this.#sql(
      `SELECT * FROM deals WHERE ${ACTIVE}
       UNION ALL SELECT * FROM deals WHERE NOT ${ACTIVE} AND collected = 0 AND updated_at >= ?`,
    ).all(since) as DealRow[];
    return rows.map(dealFromRow);
  }

  dealsByMinute(since: number): DealsInMinute[] {
    return this.#sql(
      `SELECT (proposed_at / 60000) * 60000 AS minute, COUNT(*) AS deals,
         SUM(CASE WHEN status = 'settled' THEN 1 ELSE 0 END) AS settled
       FROM deals WHERE proposed_at >= ? AND status != 'cancelled' GROUP BY 1 ORDER BY 1`,
    ).all(since) as DealsInMinute[];
  }

  markCollected(dealId: Hex): void {
    this.#sql('UPDATE deals SET collected = 1 WHERE id = ?').run(dealId);
  }

  // ---- events -------------------------------------------------------------------------------------

  appendEvent(event: StoredEvent): void {
    this.#insertEvent.run(event.address.toLowerCase(), event.seq, event.body, event.createdAt);
  }

  eventsAfter(address: Address, after: number, limit: number): StoredEvent[] {
    return this.#sql(
      'SELECT address, seq, body, created_at AS createdAt FROM events WHERE address = ? AND seq > ? ORDER BY seq LIMIT ?',
    ).all(address.toLowerCase(), after, limit) as StoredEvent[];
  }

  lastEventSeqs(): { address: Address; seq: number }[] {
    return this.#sql(
      `SELECT address, MAX(seq) AS seq FROM (
         SELECT address, MAX(seq) AS seq FROM events GROUP BY address
         UNION ALL SELECT address, seq FROM event_seqs
       ) GROUP BY address`,
    ).all() as { address: Address; seq: number }[];
  }

  pruneEvents(before: number): void {
    // Events are appended in time order, so the old ones are the rows before the first recent one.
    const first = this.#sql('SELECT rowid FROM events WHERE created_at >= ? ORDER BY rowid LIMIT 1').get(
      before,
    ) as { rowid: number } | undefined;
    const end = first?.rowid ?? Number.MAX_SAFE_INTEGER;
    this.transaction(() => {
      this.#sql(
        `INSERT INTO event_seqs (address, seq)
           SELECT address, MAX(seq) FROM events WHERE rowid < ? GROUP BY address
         ON CONFLICT (address) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
      ).run(end);
      this.#sql('DELETE FROM events WHERE rowid < ?').run(end);
    });
  }

  // ---- directory uploads --------------------------------------------------------------------------

  recordUpload(upload: Upload): boolean {
    return (
      this.#sql(
        'INSERT OR IGNORE INTO uploads (cid, deal_id, uploader, bytes, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(upload.cid, upload.dealId, upload.uploader.toLowerCase(), upload.bytes, Date.now()).changes === 1
    );
  }

  uploadsOfDeal(dealId: Hex): Upload[] {
    return this.#sql(
      'SELECT cid, deal_id AS dealId, uploader, bytes FROM uploads WHERE deal_id = ? ORDER BY created_at, cid',
    ).all(dealId) as Upload[];
  }

  dealsHolding(cid: string): Hex[] {
    return (this.#sql('SELECT deal_id FROM uploads WHERE cid = ?').all(cid) as { deal_id: Hex }[]).map(
      (row) => row.deal_id,
    );
  }

  uploadedBytes(uploader: Address): number {
    const row = this.#sql(
      `SELECT (SELECT COALESCE(SUM(u.bytes), 0) FROM uploads u JOIN deals d ON d.id = u.deal_id
               WHERE u.uploader = @uploader AND d.collected = 0)
            + (SELECT COALESCE(SUM(bytes), 0) FROM module_pins WHERE publisher = @uploader AND collected = 0) AS bytes`,
    ).get({ uploader: uploader.toLowerCase() }) as { bytes: number };
    return row.bytes;
  }

  // ---- published modules --------------------------------------------------------------------------

  recordModulePin(pin: Omit<ModulePin, 'lastUsedAt'>): void {
    this.#sql(
      `INSERT INTO module_pins (cid, publisher, bytes, published_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (cid, publisher) DO UPDATE SET bytes = excluded.bytes,
         published_at = MAX(published_at, excluded.published_at), collected = 0`,
    ).run(pin.cid, pin.publisher.toLowerCase(), pin.bytes, pin.publishedAt);
  }

  modulePin(cid: string, publisher: Address): ModulePin | undefined {
    return this.#sql(`${MODULE_PIN_SELECT} WHERE cid = ? AND publisher = ? AND collected = 0`).get(
      cid,
      publisher.toLowerCase(),
    ) as ModulePin | undefined;
  }

  touchModulePin(cid: string, usedAt: number): void {
    this.#sql(
      'UPDATE module_pins SET last_used_at = MAX(last_used_at, ?) WHERE cid = ? AND collected = 0',
    ).run(usedAt, cid);
  }

  modulePinsToCollect(before: number): ModulePin[] {
    return this.#sql(
      `${MODULE_PIN_SELECT} WHERE collected = 0 AND MAX(published_at, last_used_at) < ? ORDER BY cid, publisher`,
    ).all(before) as ModulePin[];
  }

  modulePinsToKeep(since: number): ModulePin[] {
    return this.#sql(
      `${MODULE_PIN_SELECT} WHERE collected = 0 AND MAX(published_at, last_used_at) >= ? ORDER BY cid, publisher`,
    ).all(since) as ModulePin[];
  }

  markModulePinCollected(cid: string, publisher: Address): void {
    this.#sql('UPDATE module_pins SET collected = 1 WHERE cid = ? AND publisher = ?').run(
      cid,
      publisher.toLowerCase(),
    );
  }

  // ---- chain cursor -------------------------------------------------------------------------------

  getChainCursor(): bigint | undefined {
    const row = this.#sql("SELECT value FROM meta WHERE key = 'chain_cursor'").get() as
      | { value: string }
      | undefined;
    return row ? BigInt(row.value) : undefined;
  }

  setChainCursor(block: bigint): void {
    this.#sql(
      "INSERT INTO meta (key, value) VALUES ('chain_cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(block.toString());
  }

  // ---- transactions -------------------------------------------------------------------------------

  transaction<T>(work: () => T): T {
    if (this.#db.inTransaction) return work();
    return this.#inTransaction(work) as T;
  }

  close(): void {
    void this.#checkpointer.stop();
    this.#db.close();
  }

  /** Sets the defined columns of one row (one prepared statement per set of columns). */
  #update(table: string, id: Hex, values: Record<string, unknown>): void {
    const columns: string[] = [];
    const params: unknown[] = [];
    for (const column in values) {
      const value = values[column];
      if (value === undefined) continue;
      columns.push(column);
      params.push(value);
    }
    if (columns.length === 0) return;
    params.push(id);
    this.#sql(`UPDATE ${table} SET ${columns.join(' = ?, ')} = ? WHERE id = ?`).run(...params);
  }
}

/**
 * Earlier versions committed the market's writes to a `journal` table and applied them to the tables
 * later: what a process killed in between left there is applied now, and the table dropped.
 */
function applyOldJournal(db: Database.Database): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'").get();
  if (!exists) return;
  const rows = db.prepare('SELECT entries FROM journal ORDER BY seq').all() as { entries: string }[];
  const statements: Record<string, Database.Statement> = {
    // The journal predates private job offers.
    job: db.prepare(
      'INSERT OR IGNORE INTO job_offers (id, body, status, deal_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    // The journal predates the provider column: it is read from the body.
    resource: db.prepare(
      `INSERT OR IGNORE INTO resource_offers (id, body, status, deal_id, created_at, resource_provider)
       SELECT id, body, status, deal_id, created_at, ${PROVIDER_OF_BODY}
       FROM (SELECT ? AS id, ? AS body, ? AS status, ? AS deal_id, ? AS created_at)`,
    ),
    deal: db.prepare(DEAL_UPSERT),
    event: db.prepare(EVENT_INSERT),
  };
  db.transaction(() => {
    for (const row of rows) {
      for (const [kind, ...values] of JSON.parse(row.entries) as [string, ...unknown[]][]) {
        if (kind !== 'update') {
          (statements[kind] as Database.Statement).run(...values);
          continue;
        }
        // A patch as JSON: the columns it sets (null clears one), none left undefined.
        const [table, id, patch] = values as [string, Hex, Record<string, unknown>];
        const set = Object.entries(patch);
        if (set.length === 0) continue;
        db.prepare(
          `UPDATE ${table} SET ${set.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ?`,
        ).run(...set.map(([, value]) => value), id);
      }
    }
    db.exec('DROP TABLE journal');
  })();
}

function jobOfferFromRow(row: JobOfferRow): StoredJobOffer {
  return {
    id: row.id,
    signed: fromJson<SignedJobOffer>(row.body),
    status: row.status,
    dealId: row.deal_id,
    reason: row.reason,
    createdAt: row.created_at,
    ...(row.private ? { private: true } : {}),
  };
}

function resourceOfferFromRow(row: ResourceOfferRow): StoredResourceOffer {
  return {
    id: row.id,
    signed: fromJson<SignedResourceOffer>(row.body),
    status: row.status,
    dealId: row.deal_id,
    createdAt: row.created_at,
  };
}

function dealFromRow(row: DealRow): StoredDeal {
  return {
    id: row.id,
    deal: fromJson<Deal>(row.body),
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
