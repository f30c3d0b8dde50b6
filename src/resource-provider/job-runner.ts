/**
 * Runs one deal's job: fetches its module from the directory (verified, once), validates the inputs against
 * the manifest, runs it with the executor the manifest names, and imports the result bundle as UnixFS.
 * Running again after a crash starts from an empty bundle folder: the same deal gives the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { DockerExecutor } from '../executors/docker/docker-executor.js';
import type { ExecutionResult, Executor } from '../executors/executor.js';
import { WasmExecutor } from '../executors/wasm/wasm-executor.js';
import { parseCanonicalInputs, validateInputs } from '../modules/inputs.js';
import { readManifest } from '../modules/manifest.js';
import type { Deal, JobOffer } from '../protocol/eip712.js';
import type { Blockstore } from '../storage/blockstore.js';
import { importFolder } from '../storage/unixfs.js';
import { downloadFolder } from '../storage/verified-fetch.js';
import { instructionBudget } from './pricing.js';

const EXECUTORS: Record<Executor['kind'], () => Executor> = {
  wasm: () => new WasmExecutor(),
  // Created only when a container job comes: a provider without Docker still runs WASM jobs.
  docker: () => new DockerExecutor(),
};

export type JobRun = { result: ExecutionResult; cid: CID; module: string };

export class JobRunner {
  readonly #dataDir: string;
  readonly #solverUrl: string;
  readonly #blockstore: Blockstore;
  readonly #executors: Partial<Record<Executor['kind'], Executor>>;
  readonly #fetching = new Map<string, Promise<string>>();

  constructor(options: {
    dataDir: string;
    solverUrl: string;
    blockstore: Blockstore;
    executors?: Partial<Record<Executor['kind'], Executor>>;
  }) {
    this.#dataDir = options.dataDir;
    this.#solverUrl = options.solverUrl;
    this.#blockstore = options.blockstore;
    this.#executors = { ...options.executors };
  }

  executorFor(kind: Executor['kind']): Executor {
    let executor = this.#executors[kind];
    if (!executor) {
      executor = EXECUTORS[kind]();
      this.#executors[kind] = executor;
    }
    return executor;
  }

  async run(dealId: string, deal: Deal, jobOffer: JobOffer): Promise<JobRun> {
    const moduleDir = await this.#ensureModule(jobOffer.module);
    const manifest = await readManifest(moduleDir);
    const inputs = validateInputs(manifest, parseCanonicalInputs(jobOffer.inputs));
    const bundleDir = join(this.#dataDir, 'results', dealId);
    await rm(bundleDir, { recursive: true, force: true });
    const instructions = instructionBudget(deal);
    const result = await this.executorFor(manifest.executor).run({
      moduleDir,
      manifest,
      inputs,
      seed: dealId,
      bundleDir,
      limits: {
        wallTimeMs: manifest.timeoutSeconds * 1000,
        ...(instructions === undefined ? {} : { instructions }),
      },
    });
    const cid = await importFolder(this.#blockstore, bundleDir);
    return { result, cid, module: `${manifest.name}:${manifest.version}` };
  }

  /** Fetches a module by CID from the directory once, verifying every block, and keeps it. */
  #ensureModule(cid: string): Promise<string> {
    const dir = join(this.#dataDir, 'modules', cid);
    if (existsSync(dir)) return Promise.resolve(dir);
    // Jobs of one new module arriving together fetch it once.
    let fetching = this.#fetching.get(cid);
    if (!fetching) {
      const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
      fetching = downloadFolder(this.#solverUrl, cid, this.#blockstore, partial)
        .then(() => rename(partial, dir))
        .then(() => dir)
        .finally(() => this.#fetching.delete(cid));
      this.#fetching.set(cid, fetching);
    }
    return fetching;
  }
}
