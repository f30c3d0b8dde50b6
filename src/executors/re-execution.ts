/**
 * Running a deal's job again to check a result: what a mediator does when it is drawn and what a job
 * creator's `--check local` does. Both run the job exactly as the provider did (same executor, the deal id as
 * the seed, the deal's instruction budget) and judge the provider's result with `judgeResult`:
 *
 * - a deterministic module: the result is correct when its CID is the CID of our own result bundle;
 * - a not deterministic module: its result bundle carries the provider's trace (`EVIDENCE_FILE`, committed by
 *   the result CID, so it cannot be changed after a challenge); the result is correct when it exited the same
 *   way and `traceSimilarity` of the two traces reaches the module's threshold.
 */
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import type { ModuleManifest } from '../modules/manifest.js';
import { defaults } from '../protocol/defaults.js';
import type { Deal } from '../protocol/eip712.js';
import { instructionBudget } from '../protocol/pricing.js';
import { folderCid } from '../storage/unixfs.js';
import type { ExecutionResult, Executor } from './executor.js';
import { type ExecutionTrace, parseTrace, traceSimilarity } from './trace.js';

/** The provider's trace inside the result bundle of a not deterministic module. */
export const EVIDENCE_FILE = 'trace.json';

/**
 * Puts the run's trace into the bundle when the module is not deterministic, before the bundle is imported:
 * the result CID then commits the evidence of work that mediators compare.
 */
export async function attachEvidence(manifest: ModuleManifest, result: ExecutionResult): Promise<void> {
  if (!manifest.deterministic) await copyFile(result.traceFile, join(result.bundleDir, EVIDENCE_FILE));
}

export type ReExecution = {
  result: ExecutionResult;
  /** The CID of our bundle (with the evidence attached when the module is not deterministic). */
  cid: string;
  wallTimeMs: number;
};

/** Runs the deal's job into `bundleDir` as the provider must have, and derives the bundle's CID. */
export async function reExecute(options: {
  executor: Executor;
  moduleDir: string;
  manifest: ModuleManifest;
  inputs: Record<string, string>;
  dealId: Hex;
  deal: Pick<Deal, 'fixedPrice' | 'pricePerInstruction' | 'paymentCollateral'>;
  bundleDir: string;
  signal?: AbortSignal;
}): Promise<ReExecution> {
  const { executor, manifest, bundleDir } = options;
  await rm(bundleDir, { recursive: true, force: true });
  const instructions = instructionBudget(options.deal);
  const started = performance.now();
  const result = await executor.run(
    {
      moduleDir: options.moduleDir,
      manifest,
      inputs: options.inputs,
      seed: options.dealId,
      bundleDir,
      limits: {
        wallTimeMs: manifest.timeoutSeconds * 1000,
        ...(instructions === undefined ? {} : { instructions }),
      },
    },
    options.signal ? { signal: options.signal } : {},
  );
  await attachEvidence(manifest, result);
  const cid = (await folderCid(bundleDir)).toString();
  return { result, cid, wallTimeMs: performance.now() - started };
}

export type Judgement = {
  resultCorrect: boolean;
  /** One sentence: what was compared and what came out. */
  reason: string;
  /** Not deterministic modules: traceSimilarity of the two traces. */
  similarity?: number;
};

/**
 * Judges the provider's result (`claimedCID`; for a not deterministic module also its downloaded bundle
 * folder `claimedDir`) against our own re-execution.
 */
export async function judgeResult(options: {
  manifest: ModuleManifest;
  claimedCID: string;
  claimedDir?: string;
  ours: ReExecution;
}): Promise<Judgement> {
  const { manifest, claimedCID, ours } = options;
  if (manifest.deterministic) {
    return claimedCID === ours.cid
      ? { resultCorrect: true, reason: `the re-run gave the same result CID ${claimedCID}` }
      : { resultCorrect: false, reason: `the re-run gave ${ours.cid}, not the submitted ${claimedCID}` };
  }
  if (!options.claimedDir) throw new Error('judging a not deterministic result needs its bundle folder');
  let theirs: ExecutionTrace;
  let exitCode: number;
  try {
    theirs = parseTrace(await readFile(join(options.claimedDir, EVIDENCE_FILE), 'utf8'));
    exitCode = Number((await readFile(join(options.claimedDir, 'exitCode'), 'utf8')).trim());
  } catch (error) {
    return {
      resultCorrect: false,
      reason: `the result has no readable ${EVIDENCE_FILE} or exitCode: ${(error as Error).message}`,
    };
  }
  if (exitCode !== ours.result.exitCode) {
    return {
      resultCorrect: false,
      reason: `the result exited with ${exitCode}, the re-run with ${ours.result.exitCode}`,
    };
  }
  const similarity = traceSimilarity(theirs, ours.result.trace);
  const threshold = manifest.traceSimilarityThreshold ?? defaults.traceSimilarityThreshold;
  const shown = `trace similarity ${similarity.toFixed(3)} (threshold ${threshold})`;
  return similarity >= threshold
    ? { resultCorrect: true, reason: `the traces agree: ${shown}`, similarity }
    : { resultCorrect: false, reason: `the traces disagree: ${shown}`, similarity };
}
