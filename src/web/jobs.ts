/**
 * Jobs run for the accounts: each is a `runJob` with the account's wallet, its progress stored as
 * events (so a page or an SSE stream can replay them) and its state in the jobs table. A restart finds
 * jobs that were in flight: one whose offer was never posted runs again; one already on the network is
 * followed again from where the solver and the chain say it is (`runJob`'s `resume`), to its end.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { JobProgress, JobProgressType } from '../job-creator/progress.js';
import { runJob } from '../job-creator/run-job.js';
import { validateInputs } from '../modules/inputs.js';
import { builtinModules } from '../modules/registry.js';
import { resolveModule } from '../modules/resolve.js';
import { defaults } from '../protocol/defaults.js';
import { LilypadError } from '../protocol/errors.js';
import type { NetworkConfig } from '../protocol/network.js';
import { memoryBlockstore } from '../storage/blockstore.js';
import { importPath } from '../storage/unixfs.js';
import type { Accounts } from './accounts.js';
import type { WebDatabase } from './database.js';
import { NotFoundError } from './errors.js';
import type { JobEventView, JobStatus, JobView } from './schemas.js';

/** An uploaded file for a file input, saved under the job's folder before the job starts. */
export type UploadedFile = { input: string; filename: string; bytes: Uint8Array };

/** Where each progress event moves the job: the steps of the page's timeline. */
const STATUS_AFTER: Record<JobProgressType, JobStatus | undefined> = {
  'job:module-resolved': undefined,
  'job:deposited': undefined,
  'job:offer-posted': 'offered',
  'job:queued': 'offered',
  'job:matched': 'matched',
  'job:agreed': 'matched',
  'job:running': 'running',
  'job:results-submitted': 'running',
  'job:result-verified': 'verified',
  'job:accepted': 'paid',
  // The web app accepts without a check, so a job never reaches these.
  'job:checked': undefined,
  'job:challenged': undefined,
  'job:settled': undefined,
};
const FINISHED: readonly JobStatus[] = ['paid', 'failed'];

type Row = {
  id: string;
  account_id: string;
  module: string;
  inputs: string;
  status: JobStatus;
  job_offer_id: string | null;
  deal_id: string | null;
  resource_provider: string | null;
  result_cid: string | null;
  result_dir: string | null;
  cost: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
};

const toView = (row: Row): JobView => ({
  id: row.id,
  module: row.module,
  inputs: JSON.parse(row.inputs) as Record<string, string>,
  status: row.status,
  jobOfferId: row.job_offer_id as Hex | null,
  dealId: row.deal_id as Hex | null,
  resourceProvider: row.resource_provider as Address | null,
  resultCID: row.result_cid,
  cost: row.cost,
  error: row.error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** An event as stored and sent: bigints as strings, and no local paths. */
function eventData(event: JobProgress): Record<string, unknown> {
  const { type: _, ...rest } = event;
  // Amounts (also inside the deal's terms) as decimal strings; no local paths of this server.
  return JSON.parse(
    JSON.stringify(rest, (key, value) =>
      key === 'path' ? undefined : typeof value === 'bigint' ? value.toString() : value,
    ),
  ) as Record<string, unknown>;
}

export type JobRunnerOptions = {
  db: WebDatabase;
  accounts: Accounts;
  network: NetworkConfig;
  mediators: Address[];
  /** Results (`downloaded-files/<CID>/`), the block cache and uploads. */
  dataDir: string;
  logger: Logger;
  /** Job offers stay open this long for matching. */
  offerTtlSeconds?: number;
};

type Listener = (event: JobEventView) => void;

export class JobRunner {
  readonly #options: JobRunnerOptions;
  readonly #db: WebDatabase;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(options: JobRunnerOptions) {
    this.#options = options;
    this.#db = options.db;
  }

  /**
   * Checks the module and inputs (a LilypadError that names the input and rule), stores the job and
   * starts it. Answers at once; the job's events tell the rest.
   */
  async submit(
    accountId: string,
    request: { module: string; inputs: Record<string, string>; maxPrice?: bigint; files?: UploadedFile[] },
  ): Promise<JobView> {
    // Only the catalogue: a reference may also be a local folder, which is not the caller's to name.
    if (!builtinModules().includes(request.module)) {
      throw new LilypadError(`module ${request.module} is not in this app's catalogue`, {
        hint: `choose one of ${builtinModules().join(', ')} (GET /api/v1/modules)`,
      });
    }
    const module = await resolveModule(request.module);
    const id = randomUUID();
    // Text values of file inputs must be CIDs (validateInputs): `@path` would name a file on this server.
    const inputs = { ...request.inputs };
    const uploaded: Record<string, string> = {};
    for (const file of request.files ?? []) {
      const spec = Object.hasOwn(module.manifest.inputs, file.input)
        ? module.manifest.inputs[file.input]
        : undefined;
      if (!spec || (spec.type as string) !== 'file') {
        throw new LilypadError(`"${file.input}" is not a file input of ${request.module}`, {
          hint: 'upload files only for inputs of type file; send the others as text fields',
        });
      }
      const dir = join(this.#options.dataDir, 'uploads', id, file.input);
      await mkdir(dir, { recursive: true });
      const path = join(dir, file.filename.replace(/[^A-Za-z0-9._-]/g, '_') || 'upload');
      await writeFile(path, file.bytes);
      inputs[file.input] = (await importPath(memoryBlockstore(), path)).toString();
      uploaded[file.input] = `@${path}`;
    }
    // The job runs with `@path` for each upload, so the job creator publishes it with the job.
    const validated = { ...validateInputs(module.manifest, inputs), ...uploaded };
    const now = Date.now();
    this.#db
      .prepare(
        `INSERT INTO jobs (id, account_id, module, inputs, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'submitted', ?, ?)`,
      )
      .run(id, accountId, request.module, JSON.stringify(validated), now, now);
    this.#record(id, 'job:submitted', 'submitted', { module: request.module, cid: module.cid });
    this.#start(id, accountId, request.maxPrice ?? defaults.maxPrice);
    return this.#row(id) as JobView;
  }

  #row(id: string): JobView | undefined {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row && toView(row);
  }

  get(accountId: string, id: string): JobView {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE id = ? AND account_id = ?').get(id, accountId) as
      | Row
      | undefined;
    if (!row)
      throw new NotFoundError(`no job ${id} in this account`, {
        hint: 'list your jobs with GET /api/v1/jobs',
      });
    return toView(row);
  }

  list(accountId: string, limit = 100): JobView[] {
    const rows = this.#db
      .prepare('SELECT * FROM jobs WHERE account_id = ? ORDER BY created_at DESC LIMIT ?')
      .all(accountId, limit) as Row[];
    return rows.map(toView);
  }

  events(id: string, since = 0): JobEventView[] {
    const rows = this.#db
      .prepare('SELECT seq, type, at, data FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq')
      .all(id, since) as { seq: number; type: string; at: number; data: string }[];
    return rows.map((row) => {
      const { status, ...data } = JSON.parse(row.data) as { status: JobStatus } & Record<string, unknown>;
      return { seq: row.seq, type: row.type, at: row.at, status, data };
    });
  }

  /** Calls `listener` with each new event of the job; returns the unsubscribe. */
  subscribe(id: string, listener: Listener): () => void {
    let set = this.#listeners.get(id);
    if (!set) {
      set = new Set();
      this.#listeners.set(id, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(id);
    };
  }

  isFinished(status: JobStatus): boolean {
    return FINISHED.includes(status);
  }

  /** The files of a finished job's result folder, relative paths with sizes. */
  async resultFiles(
    accountId: string,
    id: string,
  ): Promise<{ dir: string; files: { path: string; size: number }[] }> {
    const job = this.#db
      .prepare('SELECT result_dir FROM jobs WHERE id = ? AND account_id = ?')
      .get(id, accountId) as { result_dir: string | null } | undefined;
    if (!job) throw new NotFoundError(`no job ${id} in this account`);
    if (!job.result_dir)
      throw new NotFoundError(`job ${id} has no result yet`, {
        hint: 'wait for the job:result-verified event',
      });
    const dir = job.result_dir;
    const files: { path: string; size: number }[] = [];
    const walk = async (folder: string) => {
      for (const entry of await readdir(folder, { withFileTypes: true })) {
        const full = join(folder, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile())
          files.push({ path: relative(dir, full).split(sep).join('/'), size: (await stat(full)).size });
      }
    };
    await walk(dir);
    return { dir, files: files.sort((a, b) => a.path.localeCompare(b.path)) };
  }

  /** The absolute path of one result file, refusing paths that leave the result folder. */
  async resultFile(accountId: string, id: string, path: string): Promise<string> {
    const { dir, files } = await this.resultFiles(accountId, id);
    const full = resolve(dir, path);
    if (!full.startsWith(`${resolve(dir)}${sep}`) || !files.some((f) => f.path === path)) {
      throw new NotFoundError(`job ${id} has no result file ${path}`, {
        hint: `list the files with GET /api/v1/jobs/${id}/files`,
      });
    }
    return full;
  }

  /** Costs paid, in wei, for a module or for an account. */
  costs(where: { module?: string; accountId?: string }): bigint[] {
    const rows = this.#db
      .prepare(
        `SELECT cost FROM jobs WHERE status = 'paid' AND cost IS NOT NULL
         AND (@module IS NULL OR module = @module) AND (@account IS NULL OR account_id = @account)`,
      )
      .all({ module: where.module ?? null, account: where.accountId ?? null }) as { cost: string }[];
    return rows.map((row) => BigInt(row.cost));
  }

  /** After a restart: runs again what never reached the network, follows again what did. */
  resumeAfterRestart(): { restarted: number; resumed: number } {
    const rows = this.#db
      .prepare(
        "SELECT id, account_id, job_offer_id, deal_id FROM jobs WHERE status NOT IN ('paid', 'failed')",
      )
      .all() as Pick<Row, 'id' | 'account_id' | 'job_offer_id' | 'deal_id'>[];
    let restarted = 0;
    for (const row of rows) {
      if (!row.job_offer_id) {
        this.#start(row.id, row.account_id, defaults.maxPrice);
        restarted++;
        continue;
      }
      const status = this.#row(row.id)?.status ?? 'submitted';
      this.#record(row.id, 'job:resumed', status, { jobOfferId: row.job_offer_id, dealId: row.deal_id });
      this.#start(row.id, row.account_id, defaults.maxPrice, row.job_offer_id as Hex);
    }
    return { restarted, resumed: rows.length - restarted };
  }

  /** Stops following the jobs in flight; their rows stay as they are, for the next start to resume. */
  async stop(): Promise<void> {
    const running = [...this.#running.values()];
    for (const { controller } of running) controller.abort(new LilypadError('the web server is stopping'));
    await Promise.all(running.map((r) => r.done));
  }

  /** Runs the job, or with `jobOfferId` follows the offer it already posted. */
  #start(id: string, accountId: string, maxPrice: bigint, jobOfferId?: Hex): void {
    const { network, mediators, dataDir, logger, accounts } = this.#options;
    const job = this.#row(id) as JobView;
    const controller = new AbortController();
    let stopping = false;
    controller.signal.addEventListener('abort', () => {
      stopping = true;
    });
    const done = runJob({
      network,
      privateKey: accounts.walletKey(accountId),
      dataDir,
      module: job.module,
      inputs: job.inputs,
      maxPrice,
      mediationFee: defaults.mediationFee,
      mediators,
      offerTtlSeconds: this.#options.offerTtlSeconds,
      signal: controller.signal,
      ...(jobOfferId ? { resume: { jobOfferId } } : {}),
      onProgress: (event) => this.#progress(id, event),
    })
      .then(() => logger.info({ job: id }, 'job paid'))
      .catch((error: unknown) => {
        if (stopping) return;
        logger.warn({ job: id, err: error }, 'job failed');
        this.#fail(
          id,
          error instanceof LilypadError ? error.describe() : String((error as Error).message ?? error),
        );
      })
      .finally(() => this.#running.delete(id));
    this.#running.set(id, { controller, done });
  }

  #progress(id: string, event: JobProgress): void {
    const status = STATUS_AFTER[event.type];
    const columns: Record<string, string | null> = {};
    if (event.type === 'job:offer-posted') columns.job_offer_id = event.jobOfferId;
    if (event.type === 'job:matched') {
      columns.deal_id = event.dealId;
      columns.resource_provider = event.resourceProvider;
    }
    if (event.type === 'job:results-submitted') columns.result_cid = event.resultCID;
    if (event.type === 'job:result-verified') columns.result_dir = event.path;
    if (event.type === 'job:accepted') columns.cost = event.cost.toString();
    const current = this.#row(id)?.status ?? 'submitted';
    this.#update(id, { ...columns, status: status ?? current });
    this.#record(id, event.type, status ?? current, eventData(event));
  }

  #fail(id: string, error: string, type = 'job:failed'): void {
    this.#update(id, { status: 'failed', error });
    this.#record(id, type, 'failed', { error });
  }

  #update(id: string, columns: Record<string, string | null>): void {
    const names = Object.keys(columns);
    this.#db
      .prepare(
        `UPDATE jobs SET ${names.map((n) => `${n} = @${n}`).join(', ')}, updated_at = @now WHERE id = @id`,
      )
      .run({ ...columns, now: Date.now(), id });
  }

  #record(id: string, type: string, status: JobStatus, data: Record<string, unknown>): void {
    const at = Date.now();
    const { seq } = this.#db
      .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM job_events WHERE job_id = ?')
      .get(id) as { seq: number };
    this.#db
      .prepare('INSERT INTO job_events (job_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)')
      .run(id, seq, type, JSON.stringify({ status, ...data }), at);
    const event: JobEventView = { seq, type, at, status, data };
    for (const listener of this.#listeners.get(id) ?? []) listener(event);
  }
}
