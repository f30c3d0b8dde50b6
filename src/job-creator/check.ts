/**
 * The job creator's check of a result (PROTOCOL.md, "Job creator's check"), chosen per job:
 * - `accept`: pay without a check (the default);
 * - `local`: run the job again here, with the same executor, seed and budget, and challenge only on a mismatch
 *   (the same judgement a mediator makes, see executors/re-execution.ts);
 * - `p=X`: challenge with probability X without running anything (MODiCuM's "verify"): a provider that cheats
 *   on a fraction of its jobs is caught on X of those, and loses its results collateral each time.
 */
import { join } from 'node:path';
import type { Hex } from 'viem';
import type { Executor } from '../executors/executor.js';
import { executorsByKind } from '../executors/executors-by-kind.js';
import { judgeResult, reExecute } from '../executors/re-execution.js';
import type { ModuleManifest } from '../modules/manifest.js';
import type { Deal } from '../protocol/eip712.js';
import { LilypadError } from '../protocol/errors.js';

export type ResultCheck = { kind: 'accept' } | { kind: 'local' } | { kind: 'probability'; p: number };

/** `accept`, `local` or `p=X` with 0 <= X <= 1. */
export function parseCheck(text: string): ResultCheck {
  if (text === 'accept' || text === 'local') return { kind: text };
  const match = /^p=(\d*\.?\d+)$/.exec(text);
  const p = match ? Number(match[1]) : Number.NaN;
  if (!(p >= 0 && p <= 1)) {
    throw new LilypadError(`"${text}" is not a check`, {
      hint: 'use accept, local, or p=X with X a probability between 0 and 1 (e.g. p=0.1)',
    });
  }
  return { kind: 'probability', p };
}

export function checkName(check: ResultCheck): string {
  return check.kind === 'probability' ? `p=${check.p}` : check.kind;
}

export type CheckOutcome = {
  check: string;
  challenge: boolean;
  /** What was done and what came out, in one sentence. */
  reason: string;
  /** `local`: how long the re-run took and how many instructions it ran (what the check cost). */
  wallTimeMs?: number;
  instructionCount?: bigint;
};

export async function runCheck(
  check: ResultCheck,
  job: {
    moduleDir: string;
    manifest: ModuleManifest;
    inputs: Record<string, string>;
    dealId: Hex;
    deal: Deal;
    claimedCID: string;
    /** The downloaded, verified result folder. */
    claimedDir: string;
    /** Where a local re-run writes its bundle. */
    workDir: string;
    executors?: Partial<Record<Executor['kind'], Executor>>;
    random?: () => number;
    signal?: AbortSignal;
  },
): Promise<CheckOutcome> {
  const name = checkName(check);
  if (check.kind === 'accept') return { check: name, challenge: false, reason: 'accepted without a check' };
  if (check.kind === 'probability') {
    const draw = (job.random ?? Math.random)();
    const challenge = draw < check.p;
    return {
      check: name,
      challenge,
      reason: challenge
        ? `drew ${draw.toFixed(3)} < ${check.p}: challenging (costs the mediation fee if the result is correct)`
        : `drew ${draw.toFixed(3)} >= ${check.p}: accepting`,
    };
  }
  const executor = executorsByKind(job.executors)(job.manifest.executor);
  const ours = await reExecute({
    executor,
    moduleDir: job.moduleDir,
    manifest: job.manifest,
    inputs: job.inputs,
    dealId: job.dealId,
    deal: job.deal,
    bundleDir: join(job.workDir, job.dealId),
    signal: job.signal,
  });
  const judgement = await judgeResult({
    manifest: job.manifest,
    claimedCID: job.claimedCID,
    claimedDir: job.claimedDir,
    ours,
  });
  return {
    check: name,
    challenge: !judgement.resultCorrect,
    reason: judgement.reason,
    wallTimeMs: ours.wallTimeMs,
    instructionCount: ours.result.instructionCount,
  };
}
