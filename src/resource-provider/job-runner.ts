/**
 * Runs one deal's job: fetches its module from the directory (verified, once), validates the inputs against
 * the manifest, runs it with the executor the manifest names, and imports the result bundle as UnixFS.
 * Running again after a crash starts from an empty bundle folder: the same deal gives the same bytes.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import type { ExecutionResult, Executor } from '../executors/executor.js';
import { executorsByKind } from '../executors/executors-by-kind.js';
import { attachEvidence } from '../executors/re-execution.js';
import { fileInputNames, materializeFileInputs } from '../modules/file-inputs.js';
import { parseCanonicalInputs, validateInputs } from '../modules/inputs.js';
import { readManifest } from '../modules/manifest.js';
import { fetchModule } from '../modules/module-cache.js';
import type { Deal, JobOffer } from '../protocol/eip712.js';
import { instructionBudget } from '../protocol/pricing.js';
import type { Blockstore } from '../storage/blockstore.js';
import { exportPath, importFolder } from '../storage/unixfs.js';
import { fetchDag } from '../storage/verified-fetch.js';

export type JobRun = { result: ExecutionResult; cid: CID; module: string };

export class JobRunner {
  readonly #dataDir: string;
  readonly #solverUrl: string;
  readonly #blockstore: Blockstore;
  readonly #executorFor: (kind: Executor['kind']) => Executor;
  readonly #fetching = new Map<string, Promise<string>>();
  readonly #fetch: typeof fetch | undefined;

  constructor(options: {
    dataDir: string;
    solverUrl: string;
    blockstore: Blockstore;
    executors?: Partial<Record<Executor['kind'], Executor>>;
    /** Fetches from the directory; a signing one (signingFetch) gets a private deal's inputs. */
    fetch?: typeof fetch;
  }) {
    this.#fetch = options.fetch;
    this.#dataDir = options.dataDir;
    this.#solverUrl = options.solverUrl;
    this.#blockstore = options.blockstore;
    this.#executorFor = executorsByKind(options.executors);
  }

  executorFor(kind: Executor['kind']): Executor {
    return this.#executorFor(kind);
  }

  async run(dealId: string, deal: Deal, jobOffer: JobOffer): Promise<JobRun> {
    const moduleDir = await this.#ensureModule(jobOffer.module);
    const manifest = await readManifest(moduleDir);
    const validated = validateInputs(manifest, parseCanonicalInputs(jobOffer.inputs));
    const inputsDir = join(this.#dataDir, 'inputs', dealId);
    await rm(inputsDir, { recursive: true, force: true });
    const hasFiles = fileInputNames(manifest).length > 0;
    if (hasFiles) await mkdir(inputsDir, { recursive: true });
    // File inputs come from the directory, verified block by block, like the module.
    const inputs = await materializeFileInputs(manifest, validated, inputsDir, async (cid, target) => {
      await fetchDag(this.#solverUrl, cid, this.#blockstore, this.#fetch ? { fetch: this.#fetch } : {});
      await exportPath(this.#blockstore, cid, target);
    });
    const bundleDir = join(this.#dataDir, 'results', dealId);
    await rm(bundleDir, { recursive: true, force: true });
    const instructions = instructionBudget(deal);
    const result = await this.executorFor(manifest.executor).run({
      moduleDir,
      manifest,
      inputs,
      ...(hasFiles ? { inputsDir } : {}),
      seed: dealId,
      bundleDir,
      limits: {
        wallTimeMs: manifest.timeoutSeconds * 1000,
        ...(instructions === undefined ? {} : { instructions }),
      },
    });
    // A module that is not deterministic keeps its trace in the bundle: the result CID commits the evidence.
    await attachEvidence(manifest, result);
    const cid = await importFolder(this.#blockstore, bundleDir);
    return { result, cid, module: `${manifest.name}:${manifest.version}` };
  }

  /** Fetches a module by CID from the directory once (verified, cached by CID); jobs of one new module share it. */
  #ensureModule(cid: string): Promise<string> {
    let fetching = this.#fetching.get(cid);
    if (!fetching) {
      fetching = fetchModule(this.#solverUrl, cid, join(this.#dataDir, 'modules')).finally(() =>
        this.#fetching.delete(cid),
      );
      this.#fetching.set(cid, fetching);
    }
    return fetching;
  }
}
